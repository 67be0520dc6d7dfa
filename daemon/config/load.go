package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/archive"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix is the prefix of the environment variables that override keys.
const EnvPrefix = "HEADEND"

// leaf is one overridable key.
type leaf struct {
	key   string // collector.daily.jitter
	index []int  // field path in Config
	typ   reflect.Type
	help  string
	path  bool // a path, relative to the config file's directory
	def   any  // default, as viper should see it
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// isLeaf reports whether a field of type t is one key (not a section).
func isLeaf(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(textUnmarshaler)
}

// leaves lists every overridable key, in declaration order.
var leaves = func() []leaf {
	var out []leaf
	def := reflect.ValueOf(Default()).Elem()
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if f.Tag.Get("file") == "only" {
				continue // analysis.vee ...: from the file only (rules.go)
			}
			idx := append(append([]int{}, index...), i)
			if opts == "inline" {
				walk(f.Type, prefix, idx)
				continue
			}
			key := prefix + name
			if isSectionList(f.Type) {
				continue // http.tokens: from the file only (access.go)
			}
			if !isLeaf(f.Type) {
				walk(f.Type, key+".", idx)
				continue
			}
			out = append(out, leaf{key: key, index: idx, typ: f.Type, help: f.Tag.Get("help"),
				path: f.Tag.Get("path") == "true", def: viperValue(def.FieldByIndex(idx))})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}()

// viperValue is a default as a file would give it.
func viperValue(v reflect.Value) any {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, _ := m.MarshalText()
		return string(b)
	}
	if v.Type() == durationType {
		return v.Interface().(time.Duration).String()
	}
	return v.Interface()
}

// Keys returns every overridable key (collector.daily.spec, ...).
func Keys() []string {
	k := make([]string, len(leaves))
	for i, l := range leaves {
		k[i] = l.key
	}
	return k
}

// EnvName is the environment variable that overrides a key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// FlagName is the flag that overrides a key: collector.data_dir is
// --collector.data-dir.
func FlagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// RegisterFlags adds a flag for every key to fs, with the default as its
// default. Load uses only the flags that were set. A key's flag answers
// to the key as written in the file too: --collector.backfill_days is
// --collector.backfill-days.
func RegisterFlags(fs *pflag.FlagSet) {
	prev := fs.GetNormalizeFunc()
	fs.SetNormalizeFunc(func(f *pflag.FlagSet, name string) pflag.NormalizedName {
		if strings.Contains(name, ".") {
			name = FlagName(name)
		}
		return prev(f, name)
	})
	for _, l := range leaves {
		name := FlagName(l.key)
		if fs.Lookup(name) != nil {
			continue
		}
		switch v := l.def.(type) {
		case bool:
			fs.Bool(name, v, l.help)
		case int:
			fs.Int(name, v, l.help)
		case []string:
			fs.StringSlice(name, v, l.help)
		default:
			fs.String(name, fmt.Sprint(v), l.help)
		}
	}
}

// loader is one Load.
type loader struct {
	path, name, dir string // file as given, its base name, its directory
	flags           *pflag.FlagSet
	v               *viper.Viper
	lines           map[string]int    // key path -> line in the file
	values          map[string]string // key path -> scalar value, for yaml's type errors
	errs            []error
}

// Load reads the configuration file at path, applies the environment and
// the flags that were set in flags (nil: none), reads the archive's CSV
// files and validates everything. The error lists every problem.
func Load(path string, flags *pflag.FlagSet) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ld := &loader{path: path, name: filepath.Base(path), dir: filepath.Dir(path), flags: flags, lines: map[string]int{}, values: map[string]string{}}
	cfg := ld.load(data)
	if len(ld.errs) > 0 {
		return nil, errors.Join(ld.errs...)
	}
	return cfg, nil
}

func (ld *loader) bad(where, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	ld.errs = append(ld.errs, errors.New(where+": "+msg))
}

// origin names where a key's value comes from: flag, env, file:line or
// default; file reports whether it is the file.
func (ld *loader) origin(key string) (where string, file bool) {
	if ld.flags != nil {
		for _, n := range []string{FlagName(key), key} {
			if f := ld.flags.Lookup(n); f != nil && f.Changed {
				return "flag --" + n, false
			}
		}
	}
	if _, ok := os.LookupEnv(EnvName(key)); ok {
		return "env " + EnvName(key), false
	}
	if ld.v.InConfig(key) {
		return ld.at(key), true
	}
	return "default", false
}

// at is file:line of a key.
func (ld *loader) at(key string) string {
	for k := key; k != ""; {
		if n, ok := ld.lines[k]; ok {
			return fmt.Sprintf("%s:%d", ld.name, n)
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return ld.name
}

// archiveYAML is the archive section as written.
type archiveYAML struct {
	archive.Archive `yaml:",inline"`
	MetersCSV       []string `yaml:"meters_csv"`
	ResponsibleCSV  string   `yaml:"responsible_csv"`
	ExchangesCSV    string   `yaml:"exchanges_csv"`
}

func (ld *loader) load(data []byte) *Config {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		ld.errs = append(ld.errs, fmt.Errorf("%s: %s", ld.name, strings.TrimPrefix(err.Error(), "yaml: ")))
		return nil
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.DocumentNode || (doc.Kind == yaml.ScalarNode && doc.Tag == "!!null") {
		doc = &yaml.Node{Kind: yaml.MappingNode}
		data = nil
	}
	if doc.Kind != yaml.MappingNode {
		ld.bad(fmt.Sprintf("%s:%d", ld.name, doc.Line), "", "the file must be a mapping of sections (collector, archive, store, http, log)")
		return nil
	}
	ld.checkKeys(doc, reflect.TypeFor[Config](), "")

	v := viper.New()
	ld.v = v
	v.SetConfigType("yaml")
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	for _, l := range leaves {
		v.SetDefault(l.key, l.def)
		v.BindEnv(l.key)
		if ld.flags != nil {
			for _, n := range []string{FlagName(l.key), l.key} {
				if f := ld.flags.Lookup(n); f != nil {
					v.BindPFlag(l.key, f)
					break
				}
			}
		}
	}
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		ld.bad(ld.name, "", "%v", err)
		return nil
	}

	cfg := Default()
	cfg.File = ld.path
	rv := reflect.ValueOf(cfg).Elem()
	for _, l := range leaves {
		where, fromFile := ld.origin(l.key)
		raw := v.Get(l.key)
		fv := rv.FieldByIndex(l.index)
		if err := convert(raw, fv); err != nil {
			ld.bad(where, l.key, "%v", err)
			continue
		}
		if l.path && fromFile {
			switch fv.Kind() {
			case reflect.String:
				fv.SetString(ld.rel(fv.String()))
			case reflect.Slice:
				for i := range fv.Len() {
					fv.Index(i).SetString(ld.rel(fv.Index(i).String()))
				}
			}
		}
	}
	cfg.check(func(key, format string, args ...any) {
		where, _ := ld.origin(key)
		ld.bad(where, key, format, args...)
	})
	if cfg.Store.Path == "" { // the embedded store, and the results database on any kind
		cfg.Store.Path = filepath.Join(cfg.Collector.DataDir, "store")
	}
	if cfg.Store.Outbox.Dir == "" {
		cfg.Store.Outbox.Dir = filepath.Join(cfg.Collector.DataDir, "outbox")
	}
	if f := cfg.Store.TokenFile; f != "" {
		b, err := os.ReadFile(f)
		where, _ := ld.origin("store.token_file")
		switch {
		case err != nil:
			ld.bad(where, "store.token_file", "%v", err)
		case strings.TrimSpace(string(b)) == "":
			ld.bad(where, "store.token_file", "%s is empty", f)
		default:
			cfg.Store.Token = strings.TrimSpace(string(b))
		}
	}
	if f := cfg.Results.DSNFile; f != "" {
		b, err := os.ReadFile(f)
		where, _ := ld.origin("results.dsn_file")
		switch {
		case err != nil:
			ld.bad(where, "results.dsn_file", "%v", err)
		case strings.TrimSpace(string(b)) == "":
			ld.bad(where, "results.dsn_file", "%s is empty", f)
		default:
			cfg.Results.DSN = strings.TrimSpace(string(b))
		}
	}

	cfg.Archive = ld.archive(doc, cfg)
	if cfg.Archive != nil {
		if err := cfg.Archive.Validate(); err != nil {
			ld.errs = append(ld.errs, err)
		} else if len(cfg.Archive.Meters) == 0 {
			ld.bad(ld.name, "archive", "no meters (list them under archive.meters or in archive.meters_csv files)")
		}
		for _, ch := range cfg.Archive.Channels {
			if ch.Kind == archive.KindGDW3761 && cfg.Collector.GDW3761Listen == "" {
				where, _ := ld.origin("collector.gdw3761_listen")
				ld.bad(where, "collector.gdw3761_listen", "must be set: channel %s is a Q/GDW 1376.1 terminal", ch.ID)
				break
			}
		}
		for _, ch := range cfg.Archive.Channels {
			if ch.Kind == archive.KindDialIn && cfg.Collector.DialInListen == "" {
				where, _ := ld.origin("collector.dialin_listen")
				ld.bad(where, "collector.dialin_listen", "must be set: channel %s is a dial-in channel", ch.ID)
				break
			}
		}
		cfg.Archive.ApplyDefaults()
	}
	ld.access(doc, cfg)
	ld.rules(doc, cfg)
	return cfg
}

// rel resolves a path written in the file against the file's directory.
func (ld *loader) rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(ld.dir, p)
}

// archive decodes the inline archive and reads the CSV files.
func (ld *loader) archive(doc *yaml.Node, cfg *Config) *archive.Archive {
	var node *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "archive" {
			node = doc.Content[i+1]
		}
	}
	var ay archiveYAML
	if node != nil && !(node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		if err := node.Decode(&ay); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				// a value's own parser failed (a date): yaml does not say
				// where, so find the innermost node that does not decode
				line, key := node.Line, "archive"
				if n, k := locate(node, reflect.TypeFor[archiveYAML](), "archive"); n != nil {
					line, key = n.Line, k
				}
				ld.bad(fmt.Sprintf("%s:%d", ld.name, line), key, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
				return nil
			}
			for _, e := range te.Errors {
				ld.errs = append(ld.errs, ld.yamlError(e))
			}
			return nil
		}
	}
	a := &ay.Archive
	src := func(kind string, i int) string {
		k := fmt.Sprintf("archive.%s[%d]", kind, i)
		return ld.at(k) + ": " + k
	}
	for i := range a.Areas {
		a.Areas[i].Source = src("areas", i)
	}
	for i := range a.Concentrators {
		a.Concentrators[i].Source = src("concentrators", i)
	}
	for i := range a.Channels {
		a.Channels[i].Source = src("channels", i)
	}
	for i := range a.Meters {
		a.Meters[i].Source = src("meters", i)
	}
	where, fromFile := ld.origin("archive.meters_csv")
	base := ""
	if fromFile {
		base = ld.dir
	}
	failed := false
	for _, pat := range cfg.Sources.MetersCSV {
		files, err := filepath.Glob(pat)
		if err != nil || len(files) == 0 {
			ld.bad(where, "archive.meters_csv", "%q: no such file", pat)
			failed = true
			continue
		}
		sort.Strings(files)
		for _, f := range files {
			name := f
			if base != "" {
				if r, err := filepath.Rel(base, f); err == nil {
					name = r
				}
			}
			fh, err := os.Open(f)
			if err != nil {
				ld.bad(where, "archive.meters_csv", "%v", err)
				failed = true
				continue
			}
			ms, err := archive.ReadMetersCSV(fh, name)
			fh.Close()
			if err != nil {
				ld.errs = append(ld.errs, err)
				failed = true
				continue
			}
			a.Meters = append(a.Meters, ms...)
			cfg.ArchiveFiles = append(cfg.ArchiveFiles, f)
		}
	}
	if p := cfg.Sources.ResponsibleCSV; p != "" && !failed {
		where, _ := ld.origin("archive.responsible_csv")
		fh, err := os.Open(p)
		if err != nil {
			ld.bad(where, "archive.responsible_csv", "%v", err)
			return nil
		}
		m, err := archive.ReadResponsibleCSV(fh, filepath.Base(p))
		fh.Close()
		if err == nil {
			if err = a.SetResponsible(m); err != nil {
				err = fmt.Errorf("%s: %w", filepath.Base(p), err)
			}
		}
		if err != nil {
			// an area the CSV names may be missing because of an error in
			// the archive itself (a duplicated id): report that first
			if verr := a.Validate(); verr != nil {
				ld.errs = append(ld.errs, verr)
			}
			ld.errs = append(ld.errs, err)
			return nil
		}
		cfg.ArchiveFiles = append(cfg.ArchiveFiles, p)
	}
	if p := cfg.Sources.ExchangesCSV; p != "" && !failed {
		where, _ := ld.origin("archive.exchanges_csv")
		fh, err := os.Open(p)
		if err != nil {
			ld.bad(where, "archive.exchanges_csv", "%v", err)
			return nil
		}
		exs, err := archive.ReadExchangesCSV(fh, filepath.Base(p))
		fh.Close()
		if err != nil {
			ld.errs = append(ld.errs, err)
			return nil
		}
		a.Exchanges = append(a.Exchanges, exs...)
		cfg.ArchiveFiles = append(cfg.ArchiveFiles, p)
	}
	if failed {
		return nil
	}
	return a
}

// locate returns the innermost node under n (of type t, at key) that does
// not decode into t, and its key; nil when n decodes.
func locate(n *yaml.Node, t reflect.Type, key string) (*yaml.Node, string) {
	if n.Decode(reflect.New(t).Interface()) == nil {
		return nil, ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct && !isLeaf(t):
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, ok := fields[n.Content[i].Value]; ok {
				if c, k := locate(n.Content[i+1], ft, key+"."+n.Content[i].Value); c != nil {
					return c, k
				}
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			if c, k := locate(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i)); c != nil {
				return c, k
			}
		}
	}
	return n, key
}

// yamlError turns "line 12: cannot unmarshal ..." into file:line: key: ...
func (ld *loader) yamlError(e string) error {
	rest, ok := strings.CutPrefix(e, "line ")
	if n, msg, ok2 := strings.Cut(rest, ": "); ok && ok2 {
		if line, err := strconv.Atoi(n); err == nil {
			// the key on that line whose value yaml quotes (flow
			// mappings put several keys on a line)
			quoted := ""
			if _, q, ok := strings.Cut(msg, "`"); ok {
				quoted, _, _ = strings.Cut(q, "`")
			}
			key := ""
			for k, l := range ld.lines {
				if l != line {
					continue
				}
				v, scalar := ld.values[k]
				match := scalar && v == quoted
				if key == "" || match || (ld.values[key] != quoted && len(k) > len(key)) {
					key = k
				}
			}
			if key != "" {
				msg = key + ": " + msg
			}
			return fmt.Errorf("%s:%d: %s", ld.name, line, msg)
		}
	}
	return fmt.Errorf("%s: %s", ld.name, e)
}

// checkKeys walks the file against the Config type, records each key's
// line and reports unknown keys.
func (ld *loader) checkKeys(n *yaml.Node, t reflect.Type, prefix string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if prefix == "archive" {
		t = reflect.TypeFor[archiveYAML]()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct && !isLeaf(t):
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			ld.lines[key] = k.Line
			if val.Kind == yaml.ScalarNode {
				ld.values[key] = val.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				names := make([]string, 0, len(fields))
				for f := range fields {
					names = append(names, f)
				}
				sort.Strings(names)
				ld.bad(fmt.Sprintf("%s:%d", ld.name, k.Line), key, "unknown key (known here: %s)", strings.Join(names, ", "))
				continue
			}
			ld.checkKeys(val, ft, key)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			key := fmt.Sprintf("%s[%d]", prefix, i)
			ld.lines[key] = item.Line
			ld.checkKeys(item, t.Elem(), key)
		}
	}
}

func collectFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			collectFields(f.Type, into)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		into[name] = f.Type
	}
}

// convert sets v from a value given by the file (YAML types), the
// environment or a flag (strings).
func convert(raw any, v reflect.Value) error {
	if raw == nil {
		return nil
	}
	str := func() (string, error) {
		switch x := raw.(type) {
		case string:
			return x, nil
		case int, int64, float64, bool, uint64:
			return fmt.Sprint(x), nil
		}
		return "", fmt.Errorf("want a single value, not %T", raw)
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		s, err := str()
		if err != nil {
			return err
		}
		return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	if v.Type() == durationType {
		switch x := raw.(type) {
		case int:
			if x == 0 {
				v.SetInt(0)
				return nil
			}
			return fmt.Errorf("%d: give a unit, e.g. %ds or %dm", x, x, x)
		case string:
			d, err := time.ParseDuration(strings.TrimSpace(x))
			if err != nil {
				return fmt.Errorf("%q is not a duration (e.g. 90s, 10m, 1h30m)", x)
			}
			v.SetInt(int64(d))
			return nil
		}
		return fmt.Errorf("%v is not a duration (e.g. 90s, 10m, 1h30m)", raw)
	}
	switch v.Kind() {
	case reflect.String:
		s, err := str()
		if err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Bool:
		switch x := raw.(type) {
		case bool:
			v.SetBool(x)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return fmt.Errorf("%q is not true or false", x)
			}
			v.SetBool(b)
		default:
			return fmt.Errorf("%v is not true or false", raw)
		}
	case reflect.Int, reflect.Int64:
		switch x := raw.(type) {
		case int:
			v.SetInt(int64(x))
		case int64:
			v.SetInt(x)
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return fmt.Errorf("%v is not an integer", x)
			}
			v.SetInt(int64(x))
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return fmt.Errorf("%q is not an integer", x)
			}
			v.SetInt(int64(n))
		default:
			return fmt.Errorf("%v is not an integer", raw)
		}
	case reflect.Float64:
		switch x := raw.(type) {
		case int:
			v.SetFloat(float64(x))
		case float64:
			v.SetFloat(x)
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", x)
			}
			v.SetFloat(f)
		default:
			return fmt.Errorf("%v is not a number", raw)
		}
	case reflect.Slice:
		var items []string
		switch x := raw.(type) {
		case string:
			for _, s := range strings.Split(x, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
		case []string:
			items = x
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("want a list of strings, found %v", e)
				}
				items = append(items, s)
			}
		default:
			return fmt.Errorf("want a list of strings, not %T", raw)
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
