package sysmem

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLimitTightest: the smallest of MemTotal and the cgroup limits of the
// process's group and its ancestors wins; "max" and v1's no-limit value do
// not count.
func TestLimitTightest(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		want   float64
		source string
	}{
		{"meminfo only", map[string]string{"meminfo": "MemFree: 1 kB\nMemTotal:  2048 kB\n", "self": "0::/a\n"}, 2048 * 1024, "MemTotal"},
		{"v2 limit below", map[string]string{"meminfo": "MemTotal: 2048 kB\n", "self": "0::/a/b\n", "cg/a/memory.max": "1048576\n", "cg/a/b/memory.max": "max\n"}, 1 << 20, "cg/a/memory.max"},
		{"v2 max", map[string]string{"meminfo": "MemTotal: 2048 kB\n", "self": "0::/a\n", "cg/a/memory.max": "max\n"}, 2048 * 1024, "MemTotal"},
		{"v1 limit", map[string]string{"meminfo": "MemTotal: 2048 kB\n", "self": "4:memory:/job\n3:cpu:/x\n", "cg/memory/job/memory.limit_in_bytes": "524288\n"}, 1 << 19, "memory.limit_in_bytes"},
		{"v1 no limit", map[string]string{"meminfo": "MemTotal: 2048 kB\n", "self": "4:cpuacct,memory:/job\n", "cg/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 2048 * 1024, "MemTotal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, s := range c.files {
				write(t, filepath.Join(dir, name), s)
			}
			l, ok := get(filepath.Join(dir, "meminfo"), filepath.Join(dir, "self"), filepath.Join(dir, "cg"))
			if !ok || l.Bytes != c.want || !contains(l.Source, c.source) {
				t.Errorf("got %+v %v, want %v from %s", l, ok, c.want, c.source)
			}
		})
	}
	if _, ok := get("/nonexistent", "/nonexistent", "/nonexistent"); ok {
		t.Error("a limit without any source")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestBytes(t *testing.T) {
	for b, want := range map[float64]string{512: "512 B", 1536: "1.5 KiB", 24 << 30: "24.0 GiB", 1e18: "888.2 PiB", 1e25: "8.88e+09 PiB"} {
		if got := Bytes(b); got != want {
			t.Errorf("Bytes(%g) = %q, want %q", b, got, want)
		}
	}
}
