// Package sysmem reports how much memory this process may use: the
// machine's physical memory, or less when a control group (a container, a
// Slurm job's --mem) limits it. Commands compare it with a configuration's
// estimated needs before allocating anything.
package sysmem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Limit is a memory bound in bytes and where it comes from.
type Limit struct {
	Bytes  float64
	Source string // e.g. "MemTotal in /proc/meminfo", "cgroup memory.max"
}

func (l Limit) String() string { return fmt.Sprintf("%s (%s)", Bytes(l.Bytes), l.Source) }

// Get returns the tightest of the physical memory and the control-group
// limits that apply to this process; ok is false where none can be read
// (not Linux), and callers then skip memory checks.
func Get() (Limit, bool) {
	return get("/proc/meminfo", "/proc/self/cgroup", "/sys/fs/cgroup")
}

func get(meminfo, selfCgroup, cgroupRoot string) (Limit, bool) {
	var best Limit
	ok := false
	consider := func(b float64, src string) {
		if b > 0 && (!ok || b < best.Bytes) {
			best, ok = Limit{Bytes: b, Source: src}, true
		}
	}
	if b, err := memTotal(meminfo); err == nil {
		consider(b, "MemTotal in "+meminfo)
	}
	for _, c := range cgroupLimits(selfCgroup, cgroupRoot) {
		consider(c.Bytes, c.Source)
	}
	return best, ok
}

// memTotal reads MemTotal from a /proc/meminfo-format file.
func memTotal(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return 0, fmt.Errorf("%s: MemTotal %q: %w", path, fields[1], err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%s: no MemTotal", path)
}

// cgroupLimits lists the memory limits of this process's control groups
// and of their ancestors: memory.max (v2) and memory.limit_in_bytes (v1).
// "max" and v1's huge "no limit" values are not limits.
func cgroupLimits(selfCgroup, root string) []Limit {
	b, err := os.ReadFile(selfCgroup)
	if err != nil {
		return nil
	}
	var out []Limit
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		parts := strings.SplitN(string(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "": // v2
			dir, file = root, "memory.max"
		case hasController(parts[1], "memory"): // v1
			dir, file = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		// Walk from the process's group up to the hierarchy's root: any of
		// them may carry the limit, and the group's own path may not be
		// visible inside a container (then the root's file still is).
		for p := filepath.Clean("/" + parts[2]); ; p = filepath.Dir(p) {
			path := filepath.Join(dir, p, file)
			if v, err := os.ReadFile(path); err == nil {
				s := strings.TrimSpace(string(v))
				if x, err := strconv.ParseFloat(s, 64); err == nil && x > 0 && x < 1<<60 {
					out = append(out, Limit{Bytes: x, Source: "cgroup " + path})
				}
			}
			if p == "/" {
				break
			}
		}
	}
	return out
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// Bytes formats a byte count with a binary unit: "512 B", "1.5 GiB",
// "3.2e+05 PiB" for the absurd.
func Bytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprintf("%.0f B", b)
	case b >= 1e4:
		return fmt.Sprintf("%.3g %s", b, units[i])
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
