package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const secretA = "aaaaaaaaaaaaaaaaaaaaaaaa-one"

func TestTokens(t *testing.T) {
	t.Setenv("HEADEND_TEST_OPS_TOKEN", "  bbbbbbbbbbbbbbbbbbbbbbbb-two\n")
	yaml := `http:
  tokens:
    - {name: billing-export, roles: [billing], token: ` + secretA + `}
    - {name: ops, roles: [operator, analyst], token_env: HEADEND_TEST_OPS_TOKEN}
    - {name: root, roles: [admin], token_file: secrets/root}
` + base
	path := write(t, yaml)
	dir := filepath.Dir(path)
	os.Mkdir(filepath.Join(dir, "secrets"), 0o700)
	if err := os.WriteFile(filepath.Join(dir, "secrets/root"), []byte("cccccccccccccccccccccccc-three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tk := c.HTTP.Tokens
	if len(tk) != 3 || tk[1].Roles[1] != "analyst" || tk[2].TokenFile != filepath.Join(dir, "secrets/root") {
		t.Fatalf("tokens %v", tk)
	}
	for i, want := range []struct{ secret, warn string }{
		{secretA, "written in the configuration file"}, {"bbbbbbbbbbbbbbbbbbbbbbbb-two", ""}, {"cccccccccccccccccccccccc-three", ""}} {
		s, warn, err := tk[i].Secret()
		if err != nil || s != want.secret || (want.warn == "") != (warn == "") || !strings.Contains(warn, want.warn) {
			t.Errorf("token %d: %q %q %v", i, s, warn, err)
		}
	}
	for _, f := range []string{fmt.Sprint(tk[0]), fmt.Sprintf("%+v %#v", tk, tk[0])} {
		if strings.Contains(f, secretA) {
			t.Errorf("the secret is printed: %s", f)
		}
	}
	if c.Audit.File != filepath.Join("data", "audit.jsonl") {
		t.Errorf("audit file %q", c.Audit.File)
	}

	os.Chmod(filepath.Join(dir, "secrets/root"), 0o644)
	if _, warn, err := tk[2].Secret(); err != nil || !strings.Contains(warn, "readable by every user (mode 0644)") {
		t.Errorf("world-readable file: %q %v", warn, err)
	}
}

func TestTokenErrors(t *testing.T) {
	t.Setenv("HEADEND_TEST_EMPTY", "")
	yaml := `http:
  tokens:
    - {name: a, roles: [bliling], token: ` + secretA + `}
    - {name: a, roles: [], token: short}
    - {roles: [admin, admin]}
    - {name: "b c", roles: [admin], token: ` + secretA + `x, token_env: X}
    - {name: d, roles: [admin], token_env: HEADEND_TEST_UNSET_VAR}
    - {name: e, roles: [admin], token_env: HEADEND_TEST_EMPTY}
    - {name: f, roles: [admin], token_file: nowhere}
    - {name: g, roles: [admin], token: ` + secretA + `}
    - {name: h, roles: [admin], token: "` + strings.Repeat("x", 16) + ` y"}
    - {name: i, rolez: [admin]}
  tls: {cert_file: cert.pem}
` + base
	_, err := Load(write(t, yaml), nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{
		`h.yaml:3: http.tokens[0].roles: unknown role "bliling" (known: billing, analyst, operator, admin, approver)`,
		`h.yaml:4: http.tokens[1].name: "a" is also http.tokens[0]`,
		`h.yaml:4: http.tokens[1].roles: give at least one of billing`,
		`h.yaml:4: http.tokens[1].token: the token has 5 characters: use at least 16`,
		`h.yaml:5: http.tokens[2].name: must be set`,
		`h.yaml:5: http.tokens[2].roles: role "admin" listed twice`,
		`h.yaml:5: http.tokens[2]: give one of token, token_env or token_file`,
		`h.yaml:6: http.tokens[3].name: "b c": no spaces`,
		`h.yaml:6: http.tokens[3]: token, token_env and token_file exclude each other`,
		`h.yaml:7: http.tokens[4].token_env: HEADEND_TEST_UNSET_VAR is not set`,
		`h.yaml:8: http.tokens[5].token_env: HEADEND_TEST_EMPTY is empty`,
		`h.yaml:9: http.tokens[6].token_file: stat `,
		`h.yaml:10: http.tokens[7]: the same token as http.tokens[0]`,
		`h.yaml:11: http.tokens[8].token: the token has a character that is not printable ASCII at 17`,
		`h.yaml:12: http.tokens[9].rolez: unknown key`,
		`h.yaml:13: http.tls.key_file: must be set with http.tls.cert_file`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%v\nlacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), secretA) {
		t.Errorf("an error shows a secret:\n%v", err)
	}

	_, err = Load(write(t, "http: {tokens: 7}\n"+base), nil)
	if err == nil || !strings.Contains(err.Error(), "h.yaml:1: ") {
		t.Errorf("tokens: 7: %v", err)
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeTestCert(t, dir)
	c, err := Load(write(t, fmt.Sprintf("http: {tls: {cert_file: %s, key_file: %s}}\naudit: {file: audit/log.jsonl}\n%s", cert, key, base)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HTTP.TLS.Enabled() || c.HTTP.TLS.CertFile != cert || !strings.HasSuffix(c.Audit.File, "audit/log.jsonl") || !filepath.IsAbs(c.Audit.File) {
		t.Errorf("tls %+v audit %q", c.HTTP.TLS, c.Audit.File)
	}
	t.Setenv("HEADEND_HTTP_TLS_KEY_FILE", cert) // env overrides, and a certificate is no key
	_, err = Load(write(t, fmt.Sprintf("http: {tls: {cert_file: %s, key_file: %s}}\n%s", cert, key, base)), nil)
	if err == nil || !strings.Contains(err.Error(), "http.tls: ") {
		t.Errorf("certificate as key: %v", err)
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its
// key into dir.
func writeTestCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// FuzzTokens feeds the token section arbitrary YAML: Load reports
// problems or returns tokens whose secrets resolve, and never panics.
func FuzzTokens(f *testing.F) {
	f.Add("- {name: a, roles: [admin], token: " + secretA + "}")
	f.Add("- {name: a, roles: [bliling, admin], token_env: X, token_file: y}")
	f.Add("[1, 2, {name: [x]}]")
	f.Add("{name: a}")
	f.Add("- name: a\n  roles: admin\n  token: " + secretA)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, tokens string) {
		p := filepath.Join(dir, "h.yaml")
		var b strings.Builder
		b.WriteString("http:\n  tokens:\n")
		for _, line := range strings.Split(tokens, "\n") {
			b.WriteString("    " + line + "\n")
		}
		b.WriteString(base)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p, nil)
		if err != nil {
			return
		}
		for _, s := range c.HTTP.Tokens {
			if _, _, err := s.Secret(); err != nil {
				t.Fatalf("loaded a token whose secret does not resolve: %v: %v", s, err)
			}
			if strings.Contains(fmt.Sprint(s), secretA) {
				t.Fatalf("secret printed: %v", s)
			}
		}
	})
}

func TestMQTTTLSFilesAreRelativeToTheFile(t *testing.T) {
	path := write(t, `archive:
  areas: [{id: A1}]
  concentrators: [{id: C1, area: A1, channels: [gw]}]
  channels: [{id: gw, kind: mqtt, broker: "mqtts://broker.example:8883", gateway: G1, ca_file: pki/ca.pem, cert_file: /etc/headend/client.pem, key_file: pki/client.key}]
  meters:
    - {address: "000001000000", channel: gw, area: A1, role: area, ct: 30, pt: 1}
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	ch := c.Archive.Channels[0]
	if ch.CAFile != filepath.Join(dir, "pki/ca.pem") || ch.CertFile != "/etc/headend/client.pem" || ch.KeyFile != filepath.Join(dir, "pki/client.key") {
		t.Errorf("channel files %q %q %q", ch.CAFile, ch.CertFile, ch.KeyFile)
	}
}
