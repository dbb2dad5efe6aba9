package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CPU accounting: how much processor time each part of the system spent
// per completed order. On a shared 2-core machine throughput swings with
// whatever else runs; CPU time per order is steadier, and it shows where
// an optimisation has to come from.

// Procs names the processes to account: name → pid. A name whose pid is
// 0 and that is "postgres:DB" instead sums every PostgreSQL backend
// serving database DB (found by process title) as "postgres";
// "LABEL@postgres:DB" sums them as LABEL (e.g. the Temporal server's own
// databases, apart from the application's).
type Procs map[string]int

// ParseProcs reads "temporal=123,api=456,postgres:bench=0".
func ParseProcs(s string) (Procs, error) {
	p := Procs{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, pid, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("process %q: want name=pid", part)
		}
		p[name] = n
	}
	return p, nil
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuOf returns the user+system CPU time of a process so far.
func cpuOf(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// Fields after the command (which may hold spaces) start after ")".
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// postgresBackends returns the pids of PostgreSQL backends of database db.
func postgresBackends(db string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		// Backend titles look like "postgres: 15/main: postgres bench 127.0.0.1(5432) idle".
		title := strings.TrimRight(string(raw), "\x00")
		if strings.HasPrefix(title, "postgres: ") && strings.Contains(title, " "+db+" ") {
			out = append(out, pid)
		}
	}
	return out
}

// CPUSample is the CPU time of each process at one moment (pids kept for
// the PostgreSQL backends, which come and go).
type CPUSample map[string]map[int]time.Duration

// SampleCPU reads the CPU time of every process in p, plus this process
// as "bench".
func SampleCPU(p Procs) CPUSample {
	s := CPUSample{}
	add := func(name string, pid int) {
		if d, ok := cpuOf(pid); ok {
			if s[name] == nil {
				s[name] = map[int]time.Duration{}
			}
			s[name][pid] = d
		}
	}
	for name, pid := range p {
		label, spec, labelled := strings.Cut(name, "@")
		if !labelled {
			label, spec = "postgres", name
		}
		if db, ok := strings.CutPrefix(spec, "postgres:"); ok && pid == 0 {
			for _, b := range postgresBackends(db) {
				add(label, b)
			}
			continue
		}
		add(name, pid)
	}
	add("bench", os.Getpid())
	return s
}

// CPUUse is CPU milliseconds per completed item, by process.
type CPUUse map[string]float64

// PerItem is the CPU each process spent between two samples, in
// milliseconds per item (a backend that appeared in between counts from 0).
func PerItem(before, after CPUSample, items int) CPUUse {
	if items <= 0 {
		return nil
	}
	out := CPUUse{}
	for name, pids := range after {
		var d time.Duration
		for pid, t := range pids {
			d += t - before[name][pid]
		}
		out[name] = float64(d) / float64(time.Millisecond) / float64(items)
	}
	return out
}

// Total is the sum over processes.
func (u CPUUse) Total() float64 {
	t := 0.0
	for _, v := range u {
		t += v
	}
	return t
}

// String lists the processes, largest first.
func (u CPUUse) String() string {
	names := make([]string, 0, len(u))
	for k := range u {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return u[names[i]] > u[names[j]] })
	parts := make([]string, 0, len(names)+1)
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", n, u[n]))
	}
	return fmt.Sprintf("%.1f ms CPU each (%s)", u.Total(), strings.Join(parts, ", "))
}

// LoadAverage is the 1-minute load average (-1 if unknown): how busy the
// machine was, other work included.
func LoadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
