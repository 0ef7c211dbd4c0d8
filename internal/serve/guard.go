package serve

// guard.go: the dashboard's defences — the Host header check against DNS
// rebinding, and opening only regular files inside the directory (the
// runs' own files are read through rundir on the root's file system, whose
// reader refuses anything but a regular file).

import (
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// hostAllowed reports whether a request's Host header names this server.
// A DNS-rebinding page (evil.example resolving to 127.0.0.1) reaches the
// server from the victim's browser with its own name in Host, so names are
// allowed only when they cannot be an attacker's: an IP literal (no DNS
// involved), localhost, this machine's host name, and the names given in
// Options.Hosts. The port is not compared.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil || host == "localhost" {
		return true
	}
	if name, err := os.Hostname(); err == nil && strings.EqualFold(host, name) {
		return true
	}
	for _, h := range s.o.Hosts {
		if strings.EqualFold(host, strings.TrimSuffix(h, ".")) {
			return true
		}
	}
	return false
}

// refuseHost answers a request whose Host is not allowed.
func refuseHost(w http.ResponseWriter) {
	http.Error(w, "host not allowed: this dashboard answers to localhost, IP addresses and its host name "+
		"(protection against DNS rebinding; emlab serve --allow-host NAME adds a name)", http.StatusMisdirectedRequest)
}

// openRegular opens name under the root for reading only if it is a
// regular file. The open does not block: opening a FIFO for reading would
// wait for a writer, holding the request (and a thread) forever.
func (s *Server) openRegular(name string) (*os.File, os.FileInfo, error) {
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, os.ErrNotExist
	}
	return f, fi, nil
}
