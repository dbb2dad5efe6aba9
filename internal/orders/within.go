package orders

import (
	"sync"
	"time"

	"gorm.io/gorm"
)

// Within returns the service over tx, a transaction of the caller's, so
// that its writes commit or roll back with the caller's. The status changes
// written through it reach this service's observer only when the returned
// tell is called, which the caller does once tx has committed: a move that
// was rolled back (and will be written again by a retry) is never counted.
func (s *Service) Within(tx *gorm.DB) (in *Service, tell func()) {
	if s.observer == nil {
		return &Service{db: tx}, func() {}
	}
	held := &heldMoves{}
	return &Service{db: tx, observer: held}, func() { held.tell(s.observer) }
}

// heldMoves keeps status changes for an observer until their transaction
// has committed.
type heldMoves struct {
	mu    sync.Mutex
	moves []heldMove
}

type heldMove struct {
	status            string
	orderedAt, paidAt time.Time
}

// OrderMoved keeps the change.
func (h *heldMoves) OrderMoved(status string, orderedAt, paidAt time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.moves = append(h.moves, heldMove{status, orderedAt, paidAt})
}

func (h *heldMoves) tell(o StatusObserver) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.moves {
		o.OrderMoved(m.status, m.orderedAt, m.paidAt)
	}
	h.moves = nil
}
