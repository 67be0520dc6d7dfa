package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// KnownRoles are the roles an API token may carry; Principal.Can says
// what each may do.
var KnownRoles = []string{"billing", "analyst", "operator", "admin", "approver"}

// MinTokenLen is the shortest token accepted (32 random hex digits are
// 128 bits; GenerateToken makes 43 characters).
const MinTokenLen = 16

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

// Source is the key the secret comes from, "" unless exactly one is set.
func (s TokenSpec) Source() string {
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
