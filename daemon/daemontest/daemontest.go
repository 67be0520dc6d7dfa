// Package daemontest holds what the tests of headend serve share, in
// daemon and cmd/headend: a log sink that tells when a line arrives, a
// small configuration file, a self-signed certificate.
package daemontest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogSignal is a log sink that tells when a line with a given text arrives.
type LogSignal struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wants map[string]chan struct{}
}

// NewLogSignal is a LogSignal that waits for texts.
func NewLogSignal(texts ...string) *LogSignal {
	s := &LogSignal{wants: map[string]chan struct{}{}}
	for _, w := range texts {
		s.wants[w] = make(chan struct{})
	}
	return s
}

func (s *LogSignal) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	for w, ch := range s.wants {
		if bytes.Contains(s.buf.Bytes(), []byte(w)) {
			close(ch)
			delete(s.wants, w)
		}
	}
	return len(p), nil
}

func (s *LogSignal) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Wait waits (20 s at most) for a line with text, failing t without one.
func (s *LogSignal) Wait(t *testing.T, text string) {
	t.Helper()
	s.mu.Lock()
	ch, ok := s.wants[text]
	s.mu.Unlock()
	if !ok {
		return // already seen
	}
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("no %q in the log:\n%s", text, s.String())
	}
}

// OpsConfig is a small configuration of one bus that answers nothing.
const OpsConfig = `collector:
  data_dir: %DIR%/data
  dialin_listen: ""
http:
  listen: 127.0.0.1:0
archive:
  areas: [{id: A1, name: A}]
  concentrators: [{id: C1, area: A1, channels: [bus1]}]
  channels: [{id: bus1, kind: tcp, address: "127.0.0.1:1", retries: 0}]
  meters:
    - {address: "000001000001", channel: bus1, area: A1, role: area, ct: 1, pt: 1}
`

// WriteConfig writes OpsConfig with more keys of the http section.
func WriteConfig(t *testing.T, http string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "headend.yaml")
	yaml := strings.Replace(strings.ReplaceAll(OpsConfig, "%DIR%", dir), "http:\n", "http:\n"+http, 1)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteCert writes a self-signed certificate for 127.0.0.1 and its key
// into dir, and returns a pool that trusts it.
func WriteCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "headend test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kb, _ := x509.MarshalECPrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, pool
}

// Seen is closed when a line with text (one of NewLogSignal's) arrived.
func (s *LogSignal) Seen(text string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.wants[text]; ok {
		return ch
	}
	ch := make(chan struct{})
	close(ch)
	return ch
}
