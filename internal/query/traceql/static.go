package traceql

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"waymark/internal/model"
)

// Type is the type of a Static value.
type Type uint8

// Value types. TypeNil is the nil literal (an absent value).
const (
	TypeNil Type = iota
	TypeString
	TypeInt
	TypeFloat
	TypeBool
	TypeDuration
	TypeStatus
	TypeKind
	TypeArray
)

// typeUnknown is the check-time type of attributes, whose type is only
// known at evaluation.
const typeUnknown Type = 255

var typeNames = [...]string{"nil", "string", "int", "float", "bool", "duration", "status", "kind", "array"}

// String returns the type's name.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "attribute"
}

func (t Type) isNumeric() bool { return t == TypeInt || t == TypeFloat || t == TypeDuration }

// Static is a literal of a query, and a value computed during evaluation.
type Static struct {
	Type Type
	// Str holds a string (TypeString), or the JSON form of an array.
	Str string
	// Int holds an int, a duration in nanoseconds, a bool (0 or 1), a
	// model.StatusCode or a model.SpanKind.
	Int int64
	// Float holds a float.
	Float float64

	// arr holds the elements of an array value.
	arr []Static
}

// StringStatic returns a string Static.
func StringStatic(s string) Static { return Static{Type: TypeString, Str: s} }

// IntStatic returns an int Static.
func IntStatic(i int64) Static { return Static{Type: TypeInt, Int: i} }

// FloatStatic returns a float Static.
func FloatStatic(f float64) Static { return Static{Type: TypeFloat, Float: f} }

// BoolStatic returns a bool Static.
func BoolStatic(b bool) Static {
	if b {
		return Static{Type: TypeBool, Int: 1}
	}
	return Static{Type: TypeBool}
}

// DurationStatic returns a duration Static of ns nanoseconds.
func DurationStatic(ns int64) Static { return Static{Type: TypeDuration, Int: ns} }

// StatusStatic returns a status Static.
func StatusStatic(c model.StatusCode) Static { return Static{Type: TypeStatus, Int: int64(c)} }

// KindStatic returns a kind Static.
func KindStatic(k model.SpanKind) Static { return Static{Type: TypeKind, Int: int64(k)} }

// Bool reports whether s is the bool true.
func (s Static) Bool() bool { return s.Type == TypeBool && s.Int != 0 }

// float returns a numeric value as float64.
func (s Static) float() float64 {
	if s.Type == TypeFloat {
		return s.Float
	}
	return float64(s.Int)
}

// String returns s as a TraceQL literal.
func (s Static) String() string {
	var b strings.Builder
	s.write(&b)
	return b.String()
}

func (s Static) write(b *strings.Builder) {
	switch s.Type {
	case TypeNil:
		b.WriteString("nil")
	case TypeString:
		b.WriteString(strconv.Quote(s.Str))
	case TypeInt:
		b.WriteString(strconv.FormatInt(s.Int, 10))
	case TypeFloat:
		b.WriteString(formatFloat(s.Float))
	case TypeBool:
		b.WriteString(strconv.FormatBool(s.Int != 0))
	case TypeDuration:
		b.WriteString(formatDuration(s.Int))
	case TypeStatus:
		b.WriteString(model.StatusCode(s.Int).String())
	case TypeKind:
		b.WriteString(model.SpanKind(s.Int).String())
	case TypeArray:
		b.WriteString(s.Str)
	}
}

// formatFloat prints f so that it reads back as a float, never as an int.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEIN") {
		s += ".0"
	}
	return s
}

var durationUnits = [...]struct {
	name string
	ns   int64
}{
	{"w", 7 * 24 * 3600e9}, {"d", 24 * 3600e9}, {"h", 3600e9}, {"m", 60e9}, {"s", 1e9},
	{"ms", 1e6}, {"us", 1e3}, {"µs", 1e3}, {"ns", 1},
}

// formatDuration prints ns as an integer count of the largest unit (up to
// hours) that divides it exactly, such as "1500ms" or "2h".
func formatDuration(ns int64) string {
	if ns == 0 {
		return "0s"
	}
	for _, u := range durationUnits[2:] {
		if ns%u.ns == 0 {
			return strconv.FormatInt(ns/u.ns, 10) + u.name
		}
	}
	return strconv.FormatInt(ns, 10) + "ns"
}

// staticFromValue converts an attribute value. Arrays are decoded from
// their JSON form; maps are compared as their JSON text.
func staticFromValue(v model.Value) Static {
	switch v.Type {
	case model.ValueString, model.ValueBytes, model.ValueMap:
		return StringStatic(v.Str)
	case model.ValueInt:
		return IntStatic(v.Int)
	case model.ValueDouble:
		return FloatStatic(v.Double)
	case model.ValueBool:
		return BoolStatic(v.Int != 0)
	case model.ValueArray:
		return Static{Type: TypeArray, Str: v.Str, arr: decodeArray(v.Str)}
	}
	return Static{}
}

// decodeArray decodes the scalar elements of a JSON array; nested arrays,
// maps and nulls are skipped.
func decodeArray(s string) []Static {
	var raw []json.RawMessage
	if json.Unmarshal([]byte(s), &raw) != nil {
		return nil
	}
	out := make([]Static, 0, len(raw))
	for _, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) == 0 {
			continue
		}
		switch r[0] {
		case '"':
			var str string
			if json.Unmarshal(r, &str) == nil {
				out = append(out, StringStatic(str))
			}
		case 't', 'f':
			out = append(out, BoolStatic(r[0] == 't'))
		case '[', '{', 'n':
		default:
			if i, err := strconv.ParseInt(string(r), 10, 64); err == nil {
				out = append(out, IntStatic(i))
			} else if f, err := strconv.ParseFloat(string(r), 64); err == nil {
				out = append(out, FloatStatic(f))
			}
		}
	}
	return out
}

// modelValue converts s for reporting: durations become int nanoseconds,
// status and kind their names. TypeNil becomes the empty Value.
func (s Static) modelValue() model.Value {
	switch s.Type {
	case TypeString:
		return model.StringValue(s.Str)
	case TypeInt, TypeDuration:
		return model.IntValue(s.Int)
	case TypeFloat:
		return model.DoubleValue(s.Float)
	case TypeBool:
		return model.BoolValue(s.Int != 0)
	case TypeStatus:
		return model.StringValue(model.StatusCode(s.Int).String())
	case TypeKind:
		return model.StringValue(model.SpanKind(s.Int).String())
	case TypeArray:
		return model.Value{Type: model.ValueArray, Str: s.Str}
	}
	return model.Value{}
}

// text returns the text a regular expression is matched against: strings
// as they are, numbers and bools in their literal form. ok is false for
// types that regexes never match.
func (s Static) text() (string, bool) {
	switch s.Type {
	case TypeString:
		return s.Str, true
	case TypeInt:
		return strconv.FormatInt(s.Int, 10), true
	case TypeFloat:
		return strconv.FormatFloat(s.Float, 'g', -1, 64), true
	case TypeBool:
		return strconv.FormatBool(s.Int != 0), true
	}
	return "", false
}

// equal reports whether a and b are equal, and whether they are comparable
// at all: numbers (int, float, duration) compare numerically with each
// other, and every other type only with itself.
func equal(a, b Static) (eq, comparable bool) {
	if a.Type.isNumeric() && b.Type.isNumeric() {
		c, _ := order(a, b)
		return c == 0, true
	}
	if a.Type != b.Type {
		return false, false
	}
	switch a.Type {
	case TypeString:
		return a.Str == b.Str, true
	case TypeBool, TypeStatus, TypeKind:
		return a.Int == b.Int, true
	}
	return false, false
}

// order compares numbers numerically and strings lexicographically. ok is
// false for any other pair, and for NaN.
func order(a, b Static) (c int, ok bool) {
	switch {
	case a.Type.isNumeric() && b.Type.isNumeric():
		if a.Type != TypeFloat && b.Type != TypeFloat {
			switch {
			case a.Int < b.Int:
				return -1, true
			case a.Int > b.Int:
				return 1, true
			}
			return 0, true
		}
		af, bf := a.float(), b.float()
		switch {
		case af < bf:
			return -1, true
		case af > bf:
			return 1, true
		case af == bf:
			return 0, true
		}
		return 0, false
	case a.Type == TypeString && b.Type == TypeString:
		return strings.Compare(a.Str, b.Str), true
	}
	return 0, false
}

// compareOp applies a comparison operator other than =~ and !~ to two
// single values.
func compareOp(op Op, a, b Static) bool {
	switch op {
	case OpEq:
		eq, ok := equal(a, b)
		return ok && eq
	case OpNeq:
		eq, ok := equal(a, b)
		return !ok || !eq
	}
	c, ok := order(a, b)
	if !ok {
		return false
	}
	switch op {
	case OpGt:
		return c > 0
	case OpGte:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLte:
		return c <= 0
	}
	return false
}

// arith applies a binary arithmetic operator to two numbers. ok is false
// when an operand is not a number or the result is undefined (division by
// zero). Ints and durations stay exact under + - * %; a duration operand
// makes the result a duration; / and ^ give floats.
func arith(op Op, a, b Static) (Static, bool) {
	if !a.Type.isNumeric() || !b.Type.isNumeric() {
		return Static{}, false
	}
	if a.Type != TypeFloat && b.Type != TypeFloat && op != OpDiv && op != OpPow {
		t := TypeInt
		if a.Type == TypeDuration || b.Type == TypeDuration {
			t = TypeDuration
		}
		x, y := a.Int, b.Int
		switch op {
		case OpAdd:
			return Static{Type: t, Int: x + y}, true
		case OpSub:
			return Static{Type: t, Int: x - y}, true
		case OpMul:
			return Static{Type: t, Int: x * y}, true
		case OpMod:
			if y == 0 || (y == -1 && x == math.MinInt64) {
				return Static{}, false
			}
			return Static{Type: t, Int: x % y}, true
		}
		return Static{}, false
	}
	x, y := a.float(), b.float()
	var r float64
	switch op {
	case OpAdd:
		r = x + y
	case OpSub:
		r = x - y
	case OpMul:
		r = x * y
	case OpDiv:
		if y == 0 {
			return Static{}, false
		}
		r = x / y
	case OpMod:
		if y == 0 {
			return Static{}, false
		}
		r = math.Mod(x, y)
	case OpPow:
		r = math.Pow(x, y)
	default:
		return Static{}, false
	}
	if math.IsNaN(r) {
		return Static{}, false
	}
	return FloatStatic(r), true
}

// negate returns -s for numbers.
func negate(s Static) (Static, bool) {
	switch s.Type {
	case TypeInt, TypeDuration:
		return Static{Type: s.Type, Int: -s.Int}, true
	case TypeFloat:
		return FloatStatic(-s.Float), true
	}
	return Static{}, false
}
