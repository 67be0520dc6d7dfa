package link

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
)

// tlsSchemes are the broker URL schemes paho dials with TLS.
var tlsSchemes = map[string]bool{"tls": true, "ssl": true, "mqtts": true, "mqtt+ssl": true, "tcps": true, "wss": true}

// mqttTLS is the TLS configuration of a broker URL that asks for TLS:
// cfg.TLSConfig (or TLS 1.2 and up with the system's roots), the CA of
// cfg.CAFile instead of the system's roots, and the client certificate
// of cfg.CertFile and cfg.KeyFile. nil for a plain broker URL.
func mqttTLS(cfg MQTTConfig) (*tls.Config, error) {
	u, err := url.Parse(cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("broker %q: %w", cfg.Broker, err)
	}
	if !tlsSchemes[u.Scheme] {
		if cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
			return nil, fmt.Errorf("broker %s: TLS files given for a plain %s:// broker (use tls://, ssl:// or mqtts://)", cfg.Broker, u.Scheme)
		}
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		c = cfg.TLSConfig.Clone()
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case cfg.CertFile != "" && cfg.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file %s, key_file %s: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	case cfg.CertFile != "" || cfg.KeyFile != "":
		return nil, fmt.Errorf("cert_file and key_file go together: give both or neither")
	}
	return c, nil
}
