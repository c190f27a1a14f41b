package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable that sets a key.
const EnvPrefix = "WAYMARK_"

// durationType is the type of the stage packages' time.Duration fields,
// which take the same text as Duration.
var durationType = reflect.TypeOf(time.Duration(0))

// setter is a value that can be parsed from text.
type setter interface{ Set(string) error }

// Key is one leaf setting: its YAML path and a way to set it from text.
type Key struct {
	Path  string // YAML path, e.g. storage.head.max_age
	Usage string
	value reflect.Value
}

// Env returns the environment variable that sets the key.
func (k Key) Env() string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(k.Path))
}

// Set parses s into the key's field.
func (k Key) Set(s string) error {
	v := k.value
	if v.CanAddr() {
		if st, ok := v.Addr().Interface().(setter); ok {
			return st.Set(s)
		}
	}
	if v.Type() == durationType {
		var d Duration
		if err := d.Set(s); err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Uint32, reflect.Uint64, reflect.Uint:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a non-negative integer", s)
		}
		v.SetUint(n)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from text")
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	case reflect.Map:
		// key=value,key=value
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from text")
		}
		m := reflect.MakeMap(v.Type())
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			kv := strings.SplitN(p, "=", 2)
			if len(kv) != 2 {
				return fmt.Errorf("%q is not a list of key=value pairs", s)
			}
			val := reflect.New(v.Type().Elem()).Elem()
			if err := (Key{value: val}).Set(kv[1]); err != nil {
				return fmt.Errorf("value of %s: %w", kv[0], err)
			}
			m.SetMapIndex(reflect.ValueOf(kv[0]).Convert(v.Type().Key()), val)
		}
		v.Set(m)
	default:
		return fmt.Errorf("cannot be set from text")
	}
	return nil
}

// Keys lists every leaf setting of c, sorted by path; setting a Key changes c.
func Keys(c *Config) []Key {
	var keys []Key
	walk(reflect.ValueOf(c).Elem(), "", &keys)
	sort.Slice(keys, func(i, j int) bool { return keys[i].Path < keys[j].Path })
	return keys
}

func walk(v reflect.Value, prefix string, keys *[]Key) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		fv := v.Field(i)
		_, isSetter := fv.Addr().Interface().(setter)
		if fv.Kind() == reflect.Struct && !isSetter {
			walk(fv, path, keys)
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct {
			continue // a list of objects is set in the YAML file only
		}
		*keys = append(*keys, Key{Path: path, Usage: f.Tag.Get("usage"), value: fv})
	}
}

// Load builds the configuration from defaults, the YAML file named by
// --config (or WAYMARK_CONFIG), environment variables and flags, in
// increasing precedence, and validates it. args are the command-line
// arguments after the subcommand; it returns the arguments left after flags.
func Load(args []string, env []string, stderr io.Writer) (Config, []string, error) {
	cfg := Default()
	fs := flag.NewFlagSet("waymark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "YAML configuration file (also "+EnvPrefix+"CONFIG)")
	keys := Keys(&cfg)
	flagVals := make(map[string]*string, len(keys))
	for _, k := range keys {
		s := new(string)
		flagVals[k.Path] = s
		fs.StringVar(s, k.Path, "", fmt.Sprintf("sets %s (env %s)", k.Path, k.Env()))
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	envMap := make(map[string]string)
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			envMap[k] = v
		}
	}
	file := *configFile
	if file == "" {
		file = envMap[EnvPrefix+"CONFIG"]
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return Config{}, nil, fmt.Errorf("read config: %w", err)
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return Config{}, nil, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	known := map[string]bool{EnvPrefix + "CONFIG": true}
	var errs []error
	for _, k := range keys {
		known[k.Env()] = true
		if v, ok := envMap[k.Env()]; ok {
			if err := k.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", k.Path, k.Env(), err))
			}
		}
	}
	for name := range envMap {
		if !known[name] {
			errs = append(errs, fmt.Errorf("environment variable %s sets no known key", name))
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		for _, k := range keys {
			if k.Path == f.Name {
				if err := k.Set(*flagVals[k.Path]); err != nil {
					errs = append(errs, fmt.Errorf("%s (--%s): %w", k.Path, k.Path, err))
				}
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return Config{}, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, err
	}
	return cfg, fs.Args(), nil
}

// CheckFile validates a YAML configuration file on its own (defaults apply to
// keys it does not set).
func CheckFile(path string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	if err := decodeYAML(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// decodeYAML decodes data over cfg, refusing unknown keys.
func decodeYAML(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Marshal renders c as YAML, the form `waymark config` prints.
func Marshal(c Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
