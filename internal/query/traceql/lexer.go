package traceql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind is the kind of a lexical token.
type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokError
	tokLBrace
	tokRBrace
	tokLParen
	tokRParen
	tokComma
	tokPipe
	tokEq
	tokNeq
	tokRe
	tokNre
	tokGt
	tokGte
	tokLt
	tokLte
	tokAnd
	tokOr
	tokNot
	tokAdd
	tokSub
	tokMul
	tokDiv
	tokMod
	tokPow
	tokDesc
	tokAnce
	tokTilde
	tokNotChild
	tokNotParent
	tokNotDesc
	tokNotAnce
	tokUnionChild
	tokUnionParent
	tokUnionDesc
	tokUnionAnce
	tokUnionSibling
	tokString
	tokInt
	tokFloat
	tokDuration
	tokIdent
	tokIntrinsic
	tokAttribute
)

// token is one lexical token. pos and end are byte offsets into the query.
type token struct {
	kind tokenKind
	pos  int
	end  int
	// text is the token's source text; for tokError, the error message.
	text string
	// str is the decoded value of a string literal, or an attribute's name.
	str string
	// scope is the scope of an attribute.
	scope Scope
	// num is the value of a float or, in nanoseconds, of a duration.
	num float64
	dur int64
}

// punctuation lists the operator tokens, longest first within each prefix.
var punctuation = [...]struct {
	text string
	kind tokenKind
}{
	{"&&", tokAnd}, {"&>>", tokUnionDesc}, {"&>", tokUnionChild}, {"&<<", tokUnionAnce}, {"&<", tokUnionParent}, {"&~", tokUnionSibling},
	{"||", tokOr}, {"|", tokPipe},
	{"=~", tokRe}, {"=", tokEq},
	{"!=", tokNeq}, {"!~", tokNre}, {"!>>", tokNotDesc}, {"!>", tokNotChild}, {"!<<", tokNotAnce}, {"!<", tokNotParent}, {"!", tokNot},
	{">>", tokDesc}, {">=", tokGte}, {">", tokGt},
	{"<<", tokAnce}, {"<=", tokLte}, {"<", tokLt},
	{"~", tokTilde}, {"{", tokLBrace}, {"}", tokRBrace}, {"(", tokLParen}, {")", tokRParen}, {",", tokComma},
	{"+", tokAdd}, {"-", tokSub}, {"*", tokMul}, {"/", tokDiv}, {"%", tokMod}, {"^", tokPow},
}

// lexer splits a query into tokens on demand.
type lexer struct {
	src string
	pos int
}

// next returns the next token. After an error token or EOF it keeps
// returning EOF.
func (l *lexer) next() token {
	for l.pos < len(l.src) {
		r, w := utf8.DecodeRuneInString(l.src[l.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		l.pos += w
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start, end: start}
	}
	c := l.src[start]
	switch {
	case c == '"' || c == '`':
		return l.lexString()
	case c >= '0' && c <= '9', c == '.' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		return l.lexNumber()
	case c == '.':
		l.pos++
		return l.lexAttribute(start, ScopeNone)
	case isIdentStart(c):
		return l.lexWord()
	}
	for _, p := range punctuation {
		if strings.HasPrefix(l.src[start:], p.text) {
			l.pos += len(p.text)
			return token{kind: p.kind, pos: start, end: l.pos, text: p.text}
		}
	}
	if c == '&' {
		return l.fail(start, "unexpected '&'", "did you mean &&?")
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	return l.fail(start, "unexpected character "+strconv.QuoteRune(r), "")
}

// fail returns an error token: what went wrong at pos, and a hint on how
// to fix it. Lexing stops there.
func (l *lexer) fail(pos int, what, hint string) token {
	l.pos = len(l.src)
	return token{kind: tokError, pos: pos, end: pos, text: what, str: hint}
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// isAttributeRune reports whether r may appear unquoted in an attribute
// name. Names end at white space and at the characters of operators and
// brackets; '.', '-', '/', '+', '*', '%' and ':' are part of names.
func isAttributeRune(r rune) bool {
	if unicode.IsSpace(r) {
		return false
	}
	switch r {
	case '{', '}', '(', ')', '=', '~', '!', '<', '>', '&', '|', '^', ',', '"':
		return false
	}
	return true
}

// lexWord lexes an identifier, a scoped intrinsic ("span:name") or a
// scoped attribute ("span.http.url").
func (l *lexer) lexWord() token {
	start := l.pos
	for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
		l.pos++
	}
	word := l.src[start:l.pos]
	if l.pos < len(l.src) {
		switch l.src[l.pos] {
		case '.':
			scope, ok := scopeByName(word)
			if !ok {
				return l.fail(start, "unknown attribute scope "+strconv.Quote(word), "use span., resource., event., link., instrumentation. or a leading '.'")
			}
			l.pos++
			return l.lexAttribute(start, scope)
		case ':':
			if l.pos+1 < len(l.src) && isIdentStart(l.src[l.pos+1]) {
				l.pos++
				for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
					l.pos++
				}
				text := l.src[start:l.pos]
				if _, ok := intrinsicByScopedName(text); !ok {
					return l.fail(start, "unknown intrinsic "+text, "")
				}
				return token{kind: tokIntrinsic, pos: start, end: l.pos, text: text}
			}
		}
	}
	return token{kind: tokIdent, pos: start, end: l.pos, text: word}
}

// lexAttribute lexes an attribute name after its scope and dot. A name is a
// run of attribute runes and double-quoted parts ("a b"), in which only \"
// and \\ are escapes.
func (l *lexer) lexAttribute(start int, scope Scope) token {
	var name strings.Builder
	nameStart := l.pos
	quoted := false
	for l.pos < len(l.src) {
		r, w := utf8.DecodeRuneInString(l.src[l.pos:])
		if r == '"' {
			if !quoted {
				name.WriteString(l.src[nameStart:l.pos])
				quoted = true
			}
			q := l.pos
			l.pos++
			closed := false
			for l.pos < len(l.src) {
				c := l.src[l.pos]
				if c == '"' {
					l.pos++
					closed = true
					break
				}
				if c == '\\' {
					if l.pos+1 < len(l.src) && (l.src[l.pos+1] == '"' || l.src[l.pos+1] == '\\') {
						name.WriteByte(l.src[l.pos+1])
						l.pos += 2
						continue
					}
					return l.fail(l.pos, "invalid escape in quoted attribute name", `only \" and \\ are allowed`)
				}
				name.WriteByte(c)
				l.pos++
			}
			if !closed {
				return l.fail(q, "unterminated quoted attribute name", "")
			}
			continue
		}
		if !isAttributeRune(r) {
			break
		}
		if quoted {
			name.WriteString(l.src[l.pos : l.pos+w])
		}
		l.pos += w
	}
	if l.pos == nameStart {
		return l.fail(nameStart, "expected an attribute name after "+quoteTok(l.src[start:nameStart]), "")
	}
	str := name.String()
	if !quoted {
		str = l.src[nameStart:l.pos]
	}
	return token{kind: tokAttribute, pos: start, end: l.pos, text: l.src[start:l.pos], str: str, scope: scope}
}

// lexString lexes a double-quoted string with Go escapes, or a raw
// back-quoted string.
func (l *lexer) lexString() token {
	start := l.pos
	quote := l.src[start]
	i := start + 1
	for i < len(l.src) {
		c := l.src[i]
		if c == quote {
			break
		}
		if c == '\n' && quote == '"' {
			return l.fail(start, "unterminated string", "")
		}
		if c == '\\' && quote == '"' {
			i++
		}
		i++
	}
	if i >= len(l.src) {
		return l.fail(start, "unterminated string", "")
	}
	l.pos = i + 1
	text := l.src[start:l.pos]
	s, err := strconv.Unquote(text)
	if err != nil {
		return l.fail(start, "invalid string "+text, escapeProblem(text))
	}
	return token{kind: tokString, pos: start, end: l.pos, text: text, str: s}
}

// escapeProblem names the first bad escape of a string literal.
func escapeProblem(text string) string {
	for i := 1; i+1 < len(text); i++ {
		if text[i] != '\\' {
			continue
		}
		switch text[i+1] {
		case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', '"', '\'', 'x', 'u', 'U', '0', '1', '2', '3', '4', '5', '6', '7':
			i++
			continue
		}
		return fmt.Sprintf("unknown escape \\%c; write \\\\%c for a literal backslash", text[i+1], text[i+1])
	}
	return "malformed escape sequence"
}

// lexNumber lexes an int, a float, or a duration such as 10ms or 1h30m.
func (l *lexer) lexNumber() token {
	start := l.pos
	isFloat := false
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	if l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
		isFloat = true
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		j := l.pos + 1
		if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
			j++
		}
		if j < len(l.src) && isDigit(l.src[j]) {
			isFloat = true
			for j < len(l.src) && isDigit(l.src[j]) {
				j++
			}
			l.pos = j
		}
	}
	if l.pos < len(l.src) && (isIdentStart(l.src[l.pos]) || strings.HasPrefix(l.src[l.pos:], "µ")) {
		for l.pos < len(l.src) {
			if c := l.src[l.pos]; isIdentChar(c) || c == '.' {
				l.pos++
			} else if strings.HasPrefix(l.src[l.pos:], "µ") {
				l.pos += len("µ")
			} else {
				break
			}
		}
		text := l.src[start:l.pos]
		d, ok := parseDuration(text)
		if !ok {
			return l.fail(start, "invalid duration "+strconv.Quote(text), "use a number with ns, us, ms, s, m, h, d or w, as in 150ms")
		}
		return token{kind: tokDuration, pos: start, end: l.pos, text: text, dur: d}
	}
	text := l.src[start:l.pos]
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return l.fail(start, "number "+text+" is out of range", "")
		}
		return token{kind: tokFloat, pos: start, end: l.pos, text: text, num: f}
	}
	return token{kind: tokInt, pos: start, end: l.pos, text: text}
}

// parseDuration parses a sequence of <number><unit> with units ns, us, µs,
// ms, s, m, h, d (24h) and w (7d). It rejects overflow.
func parseDuration(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		intPart := s[:i]
		frac := ""
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			frac = s[i+1 : j]
			i = j
		}
		if intPart == "" && frac == "" {
			return 0, false
		}
		j := i
		for j < len(s) && !isDigit(s[j]) && s[j] != '.' {
			j++
		}
		unit, ok := durationUnit(s[i:j])
		if !ok {
			return 0, false
		}
		s = s[j:]
		var v int64
		for k := 0; k < len(intPart); k++ {
			d := int64(intPart[k] - '0')
			if v > (math.MaxInt64-d)/10 {
				return 0, false
			}
			v = v*10 + d
		}
		if v > math.MaxInt64/unit {
			return 0, false
		}
		v *= unit
		scale := unit
		for k := 0; k < len(frac) && scale > 1; k++ {
			scale /= 10
			v += int64(frac[k]-'0') * scale
			if v < 0 {
				return 0, false
			}
		}
		if total > math.MaxInt64-v {
			return 0, false
		}
		total += v
	}
	return total, true
}

func durationUnit(u string) (int64, bool) {
	for _, d := range durationUnits {
		if d.name == u {
			return d.ns, true
		}
	}
	return 0, false
}

// quoteTok renders source text for an error message.
func quoteTok(s string) string { return "'" + s + "'" }
