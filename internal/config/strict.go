package config

// strict.go: overrides read from files (JSON configs, a sweep's TOML) are
// applied deterministically. The same key given twice — repeated in one
// object, or once dotted ("model.d_model") and once nested
// ({"model": {"d_model": …}}) — is an error rather than a choice left to map
// order; so are trailing bytes after the JSON object and values of the wrong
// JSON type ("32" for a number, 1 for a boolean).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
)

// decodeObject decodes one JSON object, refusing duplicate keys at any
// depth and anything but white space after it. Numbers stay json.Number.
// Errors give the line.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	line := func() int { return 1 + bytes.Count(b[:min(int(dec.InputOffset()), len(b))], []byte{'\n'}) }
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", line(), err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("line %d: want a JSON object {…}, got %v", line(), tok)
	}
	m, err := decodeMembers(dec, "", line)
	if err != nil {
		return nil, err
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("line %d: unexpected bytes after the JSON object (one object per file): %w", line(), err)
		}
		return nil, fmt.Errorf("line %d: unexpected %v after the JSON object (one object per file)", line(), tok)
	}
	return m, nil
}

// decodeMembers reads an object's members up to its closing brace (the
// opening one has been read). path names the object in errors.
func decodeMembers(dec *json.Decoder, path string, line func() int) (map[string]any, error) {
	m := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line(), err)
		}
		k := tok.(string) // object keys are always strings
		key := k
		if path != "" {
			key = path + "." + k
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("line %d: key %q appears twice", line(), key)
		}
		v, err := decodeValue(dec, key, line)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("line %d: %w", line(), err)
	}
	return m, nil
}

func decodeValue(dec *json.Decoder, key string, line func() int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("line %d: %s: %w", line(), key, err)
	}
	switch d := tok.(type) {
	case json.Delim:
		if d == '{' {
			return decodeMembers(dec, key, line)
		}
		return nil, fmt.Errorf("line %d: %s: a list is not a config value", line(), key)
	}
	return tok, nil
}

// flattenStrict flattens nested overrides into dotted keys, keeping each
// value's decoded type. A key reached twice (dotted and nested) is an
// error; every such key is reported, sorted.
func flattenStrict(prefix string, v any, out map[string]any, errs *[]string) {
	if m, ok := v.(map[string]any); ok {
		for k, vv := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flattenStrict(key, vv, out, errs)
		}
		return
	}
	if _, dup := out[prefix]; dup {
		*errs = append(*errs, fmt.Sprintf("%s: set twice (once as a dotted key, once in its section): keep one", prefix))
		return
	}
	out[prefix] = v
}

// Flatten turns nested overrides (as decoded from JSON or TOML) into dotted
// keys with their values, refusing a key given both dotted and nested.
func Flatten(m map[string]any) (map[string]any, error) {
	out := map[string]any{}
	var errs []string
	flattenStrict("", m, out, &errs)
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, errors.New(joinLines(errs))
	}
	return out, nil
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(x)
	}
	return b.String()
}

// SetAny sets the field named by the dotted key from a decoded JSON or TOML
// value, which must have the field's type: a string for a string field, a
// boolean for a boolean, a number for a number ("32" in quotes is refused,
// so a file means what it says). Range and integer checks are SetValue's.
func (c *Config) SetAny(key string, v any) error {
	f, err := field(reflect.ValueOf(c).Elem(), key)
	if err != nil {
		return err
	}
	// data.tasks parses its own text form: one value, written as a string.
	kind := f.Kind()
	if isTextValue(f.Type()) {
		kind = reflect.String
	}
	var text string
	switch kind {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %s", key, describe(v))
		}
		text = s
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%s: want true or false, got %s", key, describe(v))
		}
		text = strconv.FormatBool(b)
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
		switch x := v.(type) {
		case json.Number:
			text = x.String()
		case int64:
			text = strconv.FormatInt(x, 10)
		case int:
			text = strconv.Itoa(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%s: must be a finite number, got %v", key, x)
			}
			text = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			return fmt.Errorf("%s: want a number, got %s", key, describe(v))
		}
	default:
		return fmt.Errorf("%s: is a section, not a value (set one of its keys)", key)
	}
	return c.SetValue(key, text)
}

// describe names a decoded value and its type for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q (write numbers and booleans without quotes)", x)
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case json.Number, int64, int, float64:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// nonFinite reports every float field of c holding NaN or ±Inf, naming its
// key: the range checks of the sections compare with < and >, which NaN
// passes, and a non-finite value would reach training (or config.json,
// which JSON cannot hold).
func nonFinite(c Config) []error {
	var errs []error
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			f, key := v.Field(i), prefix+jsonName(v.Type().Field(i))
			switch {
			case isTextValue(f.Type()):
				// One value parsed from its text form (data.tasks), whose
				// parser checks its own numbers.
			case f.Kind() == reflect.Struct:
				walk(f, key+".")
			case f.Kind() == reflect.Float64 || f.Kind() == reflect.Float32:
				if x := f.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
					errs = append(errs, fmt.Errorf("%s: must be a finite number, got %v", key, x))
				}
			}
		}
	}
	walk(reflect.ValueOf(c), "")
	return errs
}
