package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// KnownRoles are the roles an API token may carry; api/auth says what
// each may do.
var KnownRoles = []string{"billing", "analyst", "operator", "admin", "approver"}

// MinTokenLen is the shortest token accepted (32 random hex digits are
// 128 bits; api/auth.GenerateToken makes 43 characters).
const MinTokenLen = 16

// TLS is a certificate and its key, PEM files; both set serve HTTPS,
// neither plain HTTP.
type TLS struct {
	CertFile string `yaml:"cert_file" path:"true" help:"PEM certificate (chain) of the HTTPS server; empty: plain HTTP"`
	KeyFile  string `yaml:"key_file" path:"true" help:"PEM private key of http.tls.cert_file"`
}

// Enabled reports whether HTTPS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// TokenSpec is one API token: who holds it (the name the audit log
// shows), the roles it carries, and the secret from exactly one of Token
// (inline in the file: allowed, warned about), TokenEnv (an environment
// variable) or TokenFile (a file, which should not be world-readable).
// Tokens are read from the file only, not from HEADEND_* variables or
// flags.
type TokenSpec struct {
	Name      string   `yaml:"name"`
	Roles     []string `yaml:"roles"`
	Token     string   `yaml:"token"`
	TokenEnv  string   `yaml:"token_env"`
	TokenFile string   `yaml:"token_file"` // relative to the configuration file's directory
}

// Secret resolves the token. warn, when not empty, is something the
// operator should hear about (an inline token, a world-readable file);
// err means the token cannot be used. Neither contains the secret.
func (s TokenSpec) Secret() (secret, warn string, err error) {
	n := 0
	for _, v := range []string{s.Token, s.TokenEnv, s.TokenFile} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return "", "", errors.New("give one of token, token_env or token_file")
	case n > 1:
		return "", "", errors.New("token, token_env and token_file exclude each other: give one")
	case s.Token != "":
		secret, warn = s.Token, "the token is written in the configuration file: prefer token_env or token_file"
	case s.TokenEnv != "":
		v, ok := os.LookupEnv(s.TokenEnv)
		if !ok {
			return "", "", fmt.Errorf("token_env: %s is not set", s.TokenEnv)
		}
		if secret = strings.TrimSpace(v); secret == "" {
			return "", "", fmt.Errorf("token_env: %s is empty", s.TokenEnv)
		}
	default:
		fi, err := os.Stat(s.TokenFile)
		if err != nil {
			return "", "", fmt.Errorf("token_file: %w", err)
		}
		if fi.Mode().Perm()&0o004 != 0 {
			warn = fmt.Sprintf("token_file %s is readable by every user (mode %04o): chmod 600 it", s.TokenFile, fi.Mode().Perm())
		}
		b, err := os.ReadFile(s.TokenFile)
		if err != nil {
			return "", "", fmt.Errorf("token_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if err := checkSecret(secret); err != nil {
		return "", "", err
	}
	return secret, warn, nil
}

func checkSecret(s string) error {
	if len(s) < MinTokenLen {
		return fmt.Errorf("the token has %d characters: use at least %d random ones", len(s), MinTokenLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return fmt.Errorf("the token has a character that is not printable ASCII at %d", i+1)
		}
	}
	return nil
}

// source is the key the secret comes from, "" unless exactly one is set.
func (s TokenSpec) source() string {
	src := ""
	for _, f := range []struct{ key, v string }{{"token", s.Token}, {"token_env", s.TokenEnv}, {"token_file", s.TokenFile}} {
		if f.v != "" {
			if src != "" {
				return ""
			}
			src = f.key
		}
	}
	return src
}

// String describes the token without its secret.
func (s TokenSpec) String() string {
	from := "token=******"
	switch {
	case s.TokenEnv != "":
		from = "token_env=" + s.TokenEnv
	case s.TokenFile != "":
		from = "token_file=" + s.TokenFile
	}
	return fmt.Sprintf("%s roles=%s %s", s.Name, strings.Join(s.Roles, ","), from)
}

// GoString is String, so that %#v does not print the secret either.
func (s TokenSpec) GoString() string { return s.String() }

// LogValue keeps the secret out of slog output.
func (s TokenSpec) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Audit is the audit log of every write and control action.
type Audit struct {
	File string `yaml:"file" path:"true" help:"audit log, JSON lines (default <data_dir>/audit.jsonl)"`
}

// isSectionList reports whether a field is a list of sections (such as
// http.tokens): read from the file only, not a key of its own.
func isSectionList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct
}

// access decodes and checks http.tokens, checks http.tls, defaults
// audit.file, and resolves the TLS files of MQTT channels against the
// file's directory.
func (ld *loader) access(doc *yaml.Node, cfg *Config) {
	if cfg.Audit.File == "" {
		cfg.Audit.File = filepath.Join(cfg.Collector.DataDir, "audit.jsonl")
	}
	if cfg.Archive != nil {
		for i := range cfg.Archive.Channels {
			ch := &cfg.Archive.Channels[i]
			ch.CAFile, ch.CertFile, ch.KeyFile = ld.rel(ch.CAFile), ld.rel(ch.CertFile), ld.rel(ch.KeyFile)
		}
	}
	t := cfg.HTTP.TLS
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		where, _ := ld.origin("http.tls.cert_file")
		ld.bad(where, "http.tls.key_file", "must be set with http.tls.cert_file")
	case t.CertFile == "" && t.KeyFile != "":
		where, _ := ld.origin("http.tls.key_file")
		ld.bad(where, "http.tls.cert_file", "must be set with http.tls.key_file")
	case t.Enabled():
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			where, _ := ld.origin("http.tls.cert_file")
			ld.bad(where, "http.tls", "%s, %s: %v", t.CertFile, t.KeyFile, err)
		}
	}

	node := child(child(doc, "http"), "tokens")
	if node == nil || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		return
	}
	var specs []TokenSpec
	if err := node.Decode(&specs); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			ld.bad(fmt.Sprintf("%s:%d", ld.name, node.Line), "http.tokens", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
			return
		}
		for _, e := range te.Errors {
			ld.errs = append(ld.errs, ld.yamlError(e))
		}
		return
	}
	names := map[string]int{}
	secrets := map[string]int{}
	for i := range specs {
		s := &specs[i]
		key := fmt.Sprintf("http.tokens[%d]", i)
		bad := func(sub, format string, args ...any) {
			k := key
			if sub != "" {
				k += "." + sub
			}
			ld.bad(ld.at(k), k, format, args...)
		}
		s.TokenFile = ld.rel(s.TokenFile)
		switch j, dup := names[s.Name]; {
		case s.Name == "":
			bad("name", "must be set (the audit log names who acted)")
		case strings.ContainsFunc(s.Name, func(r rune) bool { return r <= ' ' || r == '"' }):
			bad("name", "%q: no spaces, quotes or control characters", s.Name)
		case dup:
			bad("name", "%q is also http.tokens[%d]", s.Name, j)
		default:
			names[s.Name] = i
		}
		if len(s.Roles) == 0 {
			bad("roles", "give at least one of %s", strings.Join(KnownRoles, ", "))
		}
		seen := map[string]bool{}
		for _, r := range s.Roles {
			switch {
			case !contains(KnownRoles, r):
				bad("roles", "unknown role %q (known: %s)", r, strings.Join(KnownRoles, ", "))
			case seen[r]:
				bad("roles", "role %q listed twice", r)
			}
			seen[r] = true
		}
		secret, _, err := s.Secret()
		if err != nil {
			sub := s.source()
			bad(sub, "%s", strings.TrimPrefix(err.Error(), sub+": "))
			continue
		}
		if j, dup := secrets[secret]; dup {
			bad("", "the same token as http.tokens[%d]: each holder needs a token of their own", j)
		} else {
			secrets[secret] = i
		}
	}
	cfg.HTTP.Tokens = specs
}

// child is the value of key in a mapping node, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
