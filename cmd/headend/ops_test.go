package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// logSignal is a log sink that tells when a line with a given text arrives.
type logSignal struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wants map[string]chan struct{}
}

func newLogSignal(texts ...string) *logSignal {
	s := &logSignal{wants: map[string]chan struct{}{}}
	for _, w := range texts {
		s.wants[w] = make(chan struct{})
	}
	return s
}

func (s *logSignal) Write(p []byte) (int, error) {
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

func (s *logSignal) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *logSignal) wait(t *testing.T, text string) {
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

const opsConfig = `collector:
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

// writeConfig writes opsConfig with more keys of the http section.
func writeConfig(t *testing.T, http string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "headend.yaml")
	yaml := strings.Replace(strings.ReplaceAll(opsConfig, "%DIR%", dir), "http:\n", "http:\n"+http, 1)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key
// into dir, and returns a pool that trusts it.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
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

// TestServeHTTPS runs headend serve with http.tls and reaches its
// endpoints over HTTPS with the generated certificate.
func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := writeCert(t, dir)
	path := writeConfig(t, "  tls: {cert_file: "+cert+", key_file: "+key+"}\n")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := newLogSignal("msg=http ", "collector running")
	root := newRoot(strings.NewReader(""), io.Discard, logs)
	root.SetArgs([]string{"serve", "--config", path, "--report", "0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	logs.wait(t, "msg=http ")
	logs.wait(t, "collector running")
	addr := regexp.MustCompile(`msg=http address=(\S+) tls=true`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no https address in the log:\n%s", logs.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": `"ready":true`, "/metrics": "headend_outbox_full 0"} {
		resp, err := client.Get("https://" + addr[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, err := http.Get("http://" + addr[1] + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the HTTPS port: %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
}
