package rewards

import "time"

// SetClock replaces the service's clock, for tests.
func SetClock(s *Service, now func() time.Time) { s.now = now }
