package expr

// Kind is the kind of a static type.
type Kind int

// The kinds of static types, as CEL names them.
const (
	KindDyn Kind = iota
	KindNull
	KindBool
	KindInt
	KindUint
	KindDouble
	KindString
	KindList
	KindMap
)

// Type is the static type of an expression. Dyn is a value whose type is
// only known when the expression is evaluated, such as a token claim.
type Type struct {
	Kind Kind
	// Key is a map's key type; Elem a list's element or a map's value type.
	Key, Elem *Type
	// free marks the element type of an empty list or map literal: dyn,
	// but giving way to any other type in a ?: (CEL leaves it a type
	// variable).
	free bool
}

var free = &Type{Kind: KindDyn, free: true}

// The scalar types.
var (
	Dyn    = &Type{Kind: KindDyn}
	Null   = &Type{Kind: KindNull}
	Bool   = &Type{Kind: KindBool}
	Int    = &Type{Kind: KindInt}
	Uint   = &Type{Kind: KindUint}
	Double = &Type{Kind: KindDouble}
	String = &Type{Kind: KindString}
)

// scalars are the scalar types by kind.
var scalars = [...]*Type{KindDyn: Dyn, KindNull: Null, KindBool: Bool, KindInt: Int, KindUint: Uint, KindDouble: Double, KindString: String}

// ListOf is the type of a list of elem.
func ListOf(elem *Type) *Type { return &Type{Kind: KindList, Elem: elem} }

// MapOf is the type of a map from key to elem.
func MapOf(key, elem *Type) *Type { return &Type{Kind: KindMap, Key: key, Elem: elem} }

var kindNames = [...]string{"dyn", "null_type", "bool", "int", "uint", "double", "string", "list", "map"}

// String names the type as CEL does: "int", "list(string)",
// "map(string, dyn)".
func (t *Type) String() string {
	switch t.Kind {
	case KindList:
		return "list(" + t.Elem.String() + ")"
	case KindMap:
		return "map(" + t.Key.String() + ", " + t.Elem.String() + ")"
	}
	return kindNames[t.Kind]
}

// AssignableTo reports whether a value of type t may be used where want is
// expected; dyn fits everywhere, since it is checked when evaluated.
func (t *Type) AssignableTo(want *Type) bool {
	_, ok := unify(t, want)
	return ok
}

// unify finds the type that both a and b can be, treating dyn as a
// wildcard, the way CEL binds a type parameter. The type means nothing
// when ok is false.
func unify(a, b *Type) (t *Type, ok bool) {
	switch {
	case a.Kind == KindDyn:
		return b, true
	case b.Kind == KindDyn:
		return a, true
	case a.Kind != b.Kind:
		return nil, false
	case a.Kind == KindList:
		e, ok := unify(a.Elem, b.Elem)
		return ListOf(e), ok
	case a.Kind == KindMap:
		k, kok := unify(a.Key, b.Key)
		e, eok := unify(a.Elem, b.Elem)
		return MapOf(k, e), kok && eok
	}
	return a, true
}

// general is the more general of two types that unify: dyn wherever
// either is dyn. It is the type of a ?: whose branches differ so.
func general(a, b *Type) *Type {
	switch {
	case a.free:
		return b
	case b.free:
		return a
	case a.Kind == KindDyn || b.Kind == KindDyn:
		return Dyn
	case a.Kind == KindList:
		return ListOf(general(a.Elem, b.Elem))
	case a.Kind == KindMap:
		return MapOf(general(a.Key, b.Key), general(a.Elem, b.Elem))
	}
	return a
}

// join is the element type of a list (or map) literal: the most general
// of its elements' types, or dyn when they do not unify.
func join(ts []*Type) *Type {
	if len(ts) == 0 {
		return free
	}
	j := ts[0]
	for _, t := range ts[1:] {
		if _, ok := unify(j, t); !ok {
			return Dyn
		}
		j = general(j, t)
	}
	return j
}

func (t *Type) is(kinds ...Kind) bool {
	for _, k := range kinds {
		if t.Kind == k {
			return true
		}
	}
	return false
}
