package link

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/headend/headend/sim/field"
)

// testPKI is a CA and the certificates it signed, as PEM files.
type testPKI struct {
	dir                           string
	caFile                        string
	ca                            *x509.Certificate
	caPriv                        *ecdsa.PrivateKey
	serverCert                    tls.Certificate
	clientCertFile, clientKeyFile string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	var err error
	p.caPriv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caPriv.PublicKey, p.caPriv)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)

	certPEM, keyPEM := p.issue(t, 2, &x509.Certificate{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if p.serverCert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM = p.issue(t, 3, &x509.Certificate{Subject: pkix.Name{CommonName: "headend"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	p.clientCertFile = filepath.Join(p.dir, "client.pem")
	p.clientKeyFile = filepath.Join(p.dir, "client-key.pem")
	os.WriteFile(p.clientCertFile, certPEM, 0o644)
	os.WriteFile(p.clientKeyFile, keyPEM, 0o600)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *testPKI) issue(t *testing.T, serial int64, tmpl *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &k.PublicKey, p.caPriv)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// startTLSBroker starts an embedded mochi-mqtt broker with a plain
// listener (for the simulated gateway) and a TLS one (for the head-end),
// and a gateway G1 on it; it returns the TLS listener's host:port.
func startTLSBroker(t *testing.T, p *testPKI, clientAuth tls.ClientAuthType) string {
	t.Helper()
	s := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secure := tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{p.serverCert}, ClientAuth: clientAuth, ClientCAs: pool, MinVersion: tls.VersionTLS12})
	if err := s.AddListener(listeners.NewNet("plain", plain)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddListener(listeners.NewNet("tls", secure)); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	gw, err := field.StartMQTTGateway(t.Context(), field.MQTTConfig{Broker: "tcp://" + plain.Addr().String(), GatewayID: "G1", Logger: discardLogger(nil)},
		newMeters(map[string][]byte{meterA: value1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	return raw.Addr().String()
}

func TestMQTTOverTLS(t *testing.T) {
	p := newPKI(t)
	addr := startTLSBroker(t, p, tls.NoClientCert)
	for _, scheme := range []string{"tls", "ssl", "mqtts"} {
		m, err := DialMQTT(MQTTConfig{Broker: scheme + "://" + addr, GatewayID: "G1", ClientID: "headend-" + scheme, CAFile: p.caFile, ConnectTimeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		transact(t, m, meterA, value1)
		m.Close()
	}
	// without the CA the broker's certificate is not trusted
	_, err := DialMQTT(MQTTConfig{Broker: "tls://" + addr, GatewayID: "G1", ClientID: "headend-noca", ConnectTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("dial without the CA: %v", err)
	}
}

func TestMQTTOverMutualTLS(t *testing.T) {
	p := newPKI(t)
	addr := startTLSBroker(t, p, tls.RequireAndVerifyClientCert)
	m, err := DialMQTT(MQTTConfig{Broker: "mqtts://" + addr, GatewayID: "G1", CAFile: p.caFile, CertFile: p.clientCertFile, KeyFile: p.clientKeyFile,
		ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	transact(t, m, meterA, value1)
	m.Close()
	if _, err := DialMQTT(MQTTConfig{Broker: "mqtts://" + addr, GatewayID: "G1", ClientID: "headend-nocert", CAFile: p.caFile, ConnectTimeout: 5 * time.Second}); err == nil {
		t.Error("connected without the client certificate the broker requires")
	}
}

func TestMQTTTLSSettings(t *testing.T) {
	p := newPKI(t)
	for _, c := range []struct {
		cfg  MQTTConfig
		want string
	}{
		{MQTTConfig{Broker: "tcp://127.0.0.1:1883", CAFile: p.caFile}, "TLS files given for a plain tcp:// broker"},
		{MQTTConfig{Broker: "tls://127.0.0.1:1883", CAFile: filepath.Join(p.dir, "none.pem")}, "ca_file: open"},
		{MQTTConfig{Broker: "tls://127.0.0.1:1883", CAFile: p.clientKeyFile}, "no PEM certificate"},
		{MQTTConfig{Broker: "tls://127.0.0.1:1883", CertFile: p.clientCertFile}, "cert_file and key_file go together"},
		{MQTTConfig{Broker: "tls://127.0.0.1:1883", CertFile: p.clientCertFile, KeyFile: p.caFile}, "cert_file"},
	} {
		c.cfg.GatewayID = "G9"
		_, err := DialMQTT(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "G9") {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if c, err := mqttTLS(MQTTConfig{Broker: "tcp://127.0.0.1:1883"}); c != nil || err != nil {
		t.Errorf("plain broker: %v %v", c, err)
	}
	if c, err := mqttTLS(MQTTConfig{Broker: "wss://127.0.0.1:443/mqtt"}); c == nil || err != nil || c.MinVersion != tls.VersionTLS12 {
		t.Errorf("wss: %v %v", c, err)
	}
}
