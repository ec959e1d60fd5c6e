package expr

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// function is a built-in function or method. Arguments arrive evaluated,
// the receiver first; missing ones are absent.
type function struct {
	global, member bool
	// check takes the arguments' types, the receiver's first, and gives
	// the result's type; ok is false when there is no such overload.
	check func(args []*Type) (t *Type, ok bool)
	eval  func(e *evaluator, a, b, c, d any) (any, error)
}

// sig accepts at least min arguments, of the given kinds (dyn always
// fits), and yields out; the kinds past min are of optional arguments.
func sig(out *Type, min int, kinds ...[]Kind) func([]*Type) (*Type, bool) {
	return func(args []*Type) (*Type, bool) {
		if len(args) < min || len(args) > len(kinds) {
			return nil, false
		}
		for i, a := range args {
			if a.Kind != KindDyn && !a.is(kinds[i]...) {
				return nil, false
			}
		}
		return out, true
	}
}

var (
	kString = []Kind{KindString}
	kInt    = []Kind{KindInt}
	kSized  = []Kind{KindString, KindList, KindMap}
)

var functions = map[string]*function{
	"size":       {global: true, member: true, check: sig(Int, 1, kSized), eval: evalSize},
	"startsWith": {member: true, check: sig(Bool, 2, kString, kString), eval: stringPredicate(strings.HasPrefix)},
	"endsWith":   {member: true, check: sig(Bool, 2, kString, kString), eval: stringPredicate(strings.HasSuffix)},
	"contains":   {member: true, check: sig(Bool, 2, kString, kString), eval: stringPredicate(strings.Contains)},
	"matches":    {global: true, member: true, check: sig(Bool, 2, kString, kString), eval: evalMatches},
	// int and string accept null because cel-go's checker lets it
	// pass for a timestamp (or duration); evaluating fails.
	"int":    {global: true, check: sig(Int, 1, []Kind{KindInt, KindUint, KindDouble, KindString, KindNull}), eval: toInt},
	"uint":   {global: true, check: sig(Uint, 1, []Kind{KindInt, KindUint, KindDouble, KindString}), eval: toUint},
	"double": {global: true, check: sig(Double, 1, []Kind{KindInt, KindUint, KindDouble, KindString}), eval: toDouble},
	"string": {global: true, check: sig(String, 1, []Kind{KindInt, KindUint, KindDouble, KindString, KindBool, KindNull}), eval: toString},
	"bool":   {global: true, check: sig(Bool, 1, []Kind{KindBool, KindString}), eval: toBool},
	"dyn": {global: true, check: func(a []*Type) (*Type, bool) { return Dyn, len(a) == 1 },
		eval: func(_ *evaluator, a, _, _, _ any) (any, error) { return a, nil }},
	"lowerAscii":  {member: true, check: sig(String, 1, kString), eval: stringMap(asciiCase('A', 'a'), 1)},
	"upperAscii":  {member: true, check: sig(String, 1, kString), eval: stringMap(asciiCase('a', 'A'), 1)},
	"charAt":      {member: true, check: sig(String, 2, kString, kInt), eval: evalCharAt},
	"indexOf":     {member: true, check: sig(Int, 2, kString, kString, kInt), eval: search(false)},
	"lastIndexOf": {member: true, check: sig(Int, 2, kString, kString, kInt), eval: search(true)},
	"split":       {member: true, check: sig(ListOf(String), 2, kString, kString, kInt), eval: evalSplit},
	"substring":   {member: true, check: sig(String, 2, kString, kInt, kInt), eval: evalSubstring},
	"replace":     {member: true, check: sig(String, 3, kString, kString, kString, kInt), eval: evalReplace},
	"trim":        {member: true, check: sig(String, 1, kString), eval: stringMap(strings.TrimSpace, 0)},
	"reverse":     {member: true, check: sig(String, 1, kString), eval: stringMap(reverse, 5)},
	"join": {member: true, check: func(a []*Type) (*Type, bool) {
		ok := len(a) <= 2 && (a[0].Kind == KindDyn || a[0].Kind == KindList && a[0].Elem.is(KindString, KindDyn))
		return String, ok && (len(a) == 1 || a[1].is(KindString, KindDyn))
	}, eval: evalJoin},
}

// unsupportedFunctions are part of CEL (or of the strings extension) but
// not of herald's rules language: naming them gives a clearer error than
// "undeclared reference".
var unsupportedFunctions = map[string]bool{
	"type": true, "bytes": true, "duration": true, "timestamp": true,
	"getFullYear": true, "getMonth": true, "getDate": true, "getDayOfMonth": true, "getDayOfWeek": true,
	"getDayOfYear": true, "getHours": true, "getMinutes": true, "getSeconds": true, "getMilliseconds": true,
	"format": true, "quote": true, "optMap": true, "optFlatMap": true, "transformList": true,
	"transformMap": true, "transformMapEntry": true,
}

var errNoOverload = fmt.Errorf("no such overload")

// absent stands for an argument that was not given, as opposed to null.
var absent any = struct{ absent bool }{true}

// optional is an argument that may be left out, def then; ok is false
// when it is given with another type.
func optional[T any](v any, def T) (T, bool) {
	if v == absent {
		return def, true
	}
	t, ok := v.(T)
	return t, ok
}

func evalSize(e *evaluator, a, _, _, _ any) (any, error) {
	switch x := a.(type) {
	case string:
		e.charge(len(x) / 64)
		return int64(utf8.RuneCountInString(x)), nil
	case []any:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	}
	return nil, errNoOverload
}

func stringPredicate(f func(s, t string) bool) func(*evaluator, any, any, any, any) (any, error) {
	return func(e *evaluator, a, b, _, _ any) (any, error) {
		s, ok1 := a.(string)
		t, ok2 := b.(string)
		if !ok1 || !ok2 {
			return nil, errNoOverload
		}
		e.charge(len(s) / 64)
		return f(s, t), nil
	}
}

// stringMap is a function of one string that allocates up to perByte
// bytes for each byte of it (reverse: its code points, then the result).
func stringMap(f func(string) string, perByte int) func(*evaluator, any, any, any, any) (any, error) {
	return func(e *evaluator, a, _, _, _ any) (any, error) {
		s, ok := a.(string)
		if !ok {
			return nil, errNoOverload
		}
		e.charge(len(s) / 64)
		if !e.alloc(perByte * len(s)) {
			return nil, e.abort
		}
		return f(s), nil
	}
}

// asciiCase maps the 26 ASCII letters from one case to the other.
func asciiCase(from, to rune) func(string) string {
	return func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= from && r < from+26 {
				return r - from + to
			}
			return r
		}, s)
	}
}

func evalMatches(e *evaluator, a, b, _, _ any) (any, error) {
	s, ok := a.(string)
	if !ok {
		return nil, errNoOverload
	}
	re, ok := b.(*regexp.Regexp)
	if !ok {
		p, isString := b.(string)
		if !isString {
			return nil, errNoOverload
		}
		e.charge(len(p))
		parsed, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			return nil, err
		}
		// A short pattern can compile to a huge program ('(xy...){1000}'
		// is a million instructions): charge for the program first.
		if !e.alloc(len(p) + regexpBytes(parsed)) {
			return nil, e.abort
		}
		if re, err = regexp.Compile(p); err != nil {
			return nil, err
		}
	}
	// RE2 runs in time linear in the text, times the pattern's size.
	if !e.chargeSearch(len(s), len(re.String())) {
		return nil, e.abort
	}
	return re.MatchString(s), nil
}

// instBytes bounds what RE2 allocates per instruction of a compiled
// program (measured: 100 to 500 bytes, the most for nested optional
// repeats).
const instBytes = 512

// regexpBytes bounds what compiling re allocates, from the size of its
// program, counted without expanding its repeats.
func regexpBytes(re *syntax.Regexp) int {
	return min(regexpInsts(re), math.MaxInt/instBytes) * instBytes
}

// regexpInsts counts the instructions of re's program, saturating well
// below overflow.
func regexpInsts(re *syntax.Regexp) int {
	const most = 1 << 40
	n := 1
	switch re.Op {
	case syntax.OpLiteral:
		n = len(re.Rune)
	case syntax.OpRepeat:
		count := re.Max
		if count < 0 {
			count = re.Min + 1
		}
		n = (count + 1) * (regexpInsts(re.Sub[0]) + 1)
	default:
		for _, sub := range re.Sub {
			n += regexpInsts(sub) + 1
		}
	}
	return min(n, most)
}

func evalCharAt(e *evaluator, a, b, _, _ any) (any, error) {
	s, ok1 := a.(string)
	i, ok2 := b.(int64)
	if !ok1 || !ok2 {
		return nil, errNoOverload
	}
	e.charge(len(s) / 64)
	n := int64(utf8.RuneCountInString(s))
	if i < 0 || i > n {
		return nil, fmt.Errorf("index out of range: %d", i)
	}
	for _, r := range s {
		if i == 0 {
			return string(r), nil
		}
		i--
	}
	return "", nil
}

// search is indexOf, or lastIndexOf when last is set. The strings
// extension counts in code points, not bytes.
func search(last bool) func(*evaluator, any, any, any, any) (any, error) {
	return func(e *evaluator, a, b, c, _ any) (any, error) {
		s, ok1 := a.(string)
		t, ok2 := b.(string)
		if !ok1 || !ok2 {
			return nil, errNoOverload
		}
		if !e.alloc(4 * (len(s) + len(t))) {
			return nil, e.abort
		}
		runes, sub := []rune(s), []rune(t)
		if !e.chargeSearch(len(runes), len(sub)) {
			return nil, e.abort
		}
		n, m := int64(len(runes)), int64(len(sub))
		start := int64(0)
		if last {
			start = n
		}
		from, ok := optional(c, start)
		if !ok {
			return nil, errNoOverload
		}
		if from < 0 {
			return nil, fmt.Errorf("index out of range: %d", from)
		}
		if m == 0 {
			return min(from, n), nil
		}
		i, step := from, int64(1)
		if last {
			if from >= n && c != absent {
				return int64(-1), nil
			}
			i, step = min(from, n-m), -1
		}
		for ; i >= 0 && i <= n-m; i += step {
			if runesAt(runes, sub, i) {
				return i, nil
			}
		}
		return int64(-1), nil
	}
}

// chargeSearch charges for a search of a pattern of m code points in a
// string of n, before it runs: the search compares up to n*m of them. It
// reports whether the budget allows it.
func (e *evaluator) chargeSearch(n, m int) bool {
	e.charge(n/16 + n*m/256)
	return e.abort == nil
}

func runesAt(runes, sub []rune, i int64) bool {
	for j, r := range sub {
		if runes[i+int64(j)] != r {
			return false
		}
	}
	return true
}

func evalSubstring(e *evaluator, a, b, c, _ any) (any, error) {
	s, ok1 := a.(string)
	start, ok2 := b.(int64)
	if !ok1 || !ok2 {
		return nil, errNoOverload
	}
	e.charge(len(s) / 64)
	// Its code points, then at most the string again.
	if !e.alloc(5 * len(s)) {
		return nil, e.abort
	}
	runes := []rune(s)
	end, ok := optional(c, int64(len(runes)))
	if !ok {
		return nil, errNoOverload
	}
	if c != absent && start > end {
		return nil, fmt.Errorf("invalid substring range. start: %d, end: %d", start, end)
	}
	for _, i := range []int64{start, end} {
		if i < 0 || i > int64(len(runes)) {
			return nil, fmt.Errorf("index out of range: %d", i)
		}
	}
	return string(runes[start:end]), nil
}

func evalReplace(e *evaluator, a, b, c, d any) (any, error) {
	s, ok1 := a.(string)
	old, ok2 := b.(string)
	repl, ok3 := c.(string)
	if !ok1 || !ok2 || !ok3 {
		return nil, errNoOverload
	}
	n, ok := optional(d, int64(-1))
	if !ok {
		return nil, errNoOverload
	}
	e.charge(len(s)/64 + 1)
	// Charge for the result's size before building it.
	size := int64(len(s))
	if old == "" || len(repl) > len(old) {
		count := int64(strings.Count(s, old))
		if n >= 0 {
			count = min(count, n)
		}
		e.charge(int(count * int64(len(repl)+1) / 64))
		size += count * int64(len(repl)-len(old))
	}
	if !e.alloc(int(min(size, math.MaxInt32))) {
		return nil, e.abort
	}
	return strings.Replace(s, old, repl, int(n)), nil
}

func reverse(s string) string {
	runes := []rune(s)
	slices.Reverse(runes)
	return string(runes)
}

func evalSplit(e *evaluator, a, b, c, _ any) (any, error) {
	s, ok1 := a.(string)
	sep, ok2 := b.(string)
	if !ok1 || !ok2 {
		return nil, errNoOverload
	}
	n, ok := optional(c, int64(-1))
	if !ok {
		return nil, errNoOverload
	}
	// Each part is a string header in SplitN's list and a value in ours.
	count := strings.Count(s, sep) + 1
	if sep == "" {
		count = utf8.RuneCountInString(s)
	}
	if n >= 0 {
		count = int(min(int64(count), n))
	}
	e.charge(count + len(s)/64)
	if !e.alloc(count * (16 + valueBytes)) {
		return nil, e.abort
	}
	return anys(strings.SplitN(s, sep, int(n))), nil
}

func evalJoin(e *evaluator, a, b, _, _ any) (any, error) {
	l, ok := a.([]any)
	if !ok {
		return nil, errNoOverload
	}
	sep, ok := optional(b, "")
	if !ok {
		return nil, errNoOverload
	}
	// The result's size first: charged before it is built.
	size := 0
	for i, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, errNoOverload
		}
		if i > 0 {
			size += len(sep)
		}
		size += len(s)
		if size > e.maxBytes {
			break // already over any budget; the sum cannot overflow
		}
	}
	e.charge(len(l) + size/64)
	if !e.alloc(size) {
		return nil, e.abort
	}
	var sb strings.Builder
	sb.Grow(size)
	for i, v := range l {
		if i > 0 {
			sb.WriteString(sep)
		}
		sb.WriteString(v.(string))
	}
	return sb.String(), nil
}

var (
	errIntOverflow  = fmt.Errorf("integer overflow")
	errUintOverflow = fmt.Errorf("unsigned integer overflow")
)

func conversionError(from any, to string) error {
	return fmt.Errorf("type conversion error from '%s' to '%s'", TypeName(from), to)
}

func toInt(_ *evaluator, a, _, _, _ any) (any, error) {
	switch x := a.(type) {
	case int64:
		return x, nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, errIntOverflow
		}
		return int64(x), nil
	case float64:
		if math.IsNaN(x) || x <= math.MinInt64 || x >= math.MaxInt64 {
			return nil, errIntOverflow
		}
		return int64(x), nil
	case string:
		if i, err := strconv.ParseInt(x, 10, 64); err == nil {
			return i, nil
		}
	}
	return nil, conversionError(a, "int")
}

func toUint(_ *evaluator, a, _, _, _ any) (any, error) {
	switch x := a.(type) {
	case int64:
		if x < 0 {
			return nil, errUintOverflow
		}
		return uint64(x), nil
	case uint64:
		return x, nil
	case float64:
		if math.IsNaN(x) || x < 0 || x >= 1<<64 {
			return nil, errUintOverflow
		}
		return uint64(x), nil
	case string:
		if u, err := strconv.ParseUint(x, 10, 64); err == nil {
			return u, nil
		}
	}
	return nil, conversionError(a, "uint")
}

func toDouble(_ *evaluator, a, _, _, _ any) (any, error) {
	switch x := a.(type) {
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, nil
		}
	}
	return nil, conversionError(a, "double")
}

func toString(_ *evaluator, a, _, _, _ any) (any, error) {
	switch x := a.(type) {
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return fmt.Sprintf("%g", x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		return x, nil
	}
	return nil, conversionError(a, "string")
}

func toBool(_ *evaluator, a, _, _, _ any) (any, error) {
	switch x := a.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b, nil
		}
	}
	return nil, conversionError(a, "bool")
}
