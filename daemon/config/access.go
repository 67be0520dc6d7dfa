package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/headend/headend/api/auth"
	"go.yaml.in/yaml/v3"
)

// TLS is a certificate and its key, PEM files; both set serve HTTPS,
// neither plain HTTP.
type TLS struct {
	CertFile string `yaml:"cert_file" path:"true" help:"PEM certificate (chain) of the HTTPS server; empty: plain HTTP"`
	KeyFile  string `yaml:"key_file" path:"true" help:"PEM private key of http.tls.cert_file"`
}

// Enabled reports whether HTTPS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// Audit is the audit log of every write and control action.
type Audit struct {
	File string `yaml:"file" path:"true" help:"audit log, JSON lines (default <data_dir>/audit.jsonl)"`
	// DSN puts the log in PostgreSQL instead, one table the nodes of a
	// cluster share.
	DSN string `yaml:"dsn" help:"PostgreSQL DSN of the audit log, shared by the nodes of a cluster (prefer HEADEND_AUDIT_DSN); empty: audit.file"`
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
	var specs []auth.TokenSpec
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
			bad("roles", "give at least one of %s", strings.Join(auth.KnownRoles, ", "))
		}
		seen := map[string]bool{}
		for _, r := range s.Roles {
			switch {
			case !contains(auth.KnownRoles, r):
				bad("roles", "unknown role %q (known: %s)", r, strings.Join(auth.KnownRoles, ", "))
			case seen[r]:
				bad("roles", "role %q listed twice", r)
			}
			seen[r] = true
		}
		secret, _, err := s.Secret()
		if err != nil {
			sub := s.Source()
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
