package expr

import (
	"testing"
)

// differential lists expressions a rules author could write, and some they
// should not, over testClaims.
var differential = []string{
	// literals
	`1`, `-1`, `0x1F`, `-0x10`, `9223372036854775807`, `-9223372036854775808`, `9223372036854775808`,
	`1u`, `0xFFu`, `18446744073709551615u`, `18446744073709551616u`, `1.5`, `-2.5e3`, `.5`, `1e-3`, `1.`,
	`'a'`, `"a"`, `'''a'b'''`, `"""a"b"""`, `r'\n'`, `R"\d+"`, `'\x41\101\u0041\U0001F600'`, `'\a\b\f\n\r\t\v\\\?\"\'\` + "`" + `'`,
	`'\400'`, `'\ud800'`, `'\z'`, `"a` + "\n" + `b"`, `'''a` + "\n" + `b'''`, `b'abc'`, `true`, `false`, `null`,
	`[]`, `[,]`, `{,}`, `[,,]`, `[1,,]`, `[1, 2, 3]`, `[1, 'a', null]`, `[1,]`, `{}`, `{'a': 1}`, `{'a': 1, 'b': 'x',}`, `{'a': 1, 'a': 2}`,
	`{1: 'a'}`, `{user.name: 1}`, `{'n': user.n}`,
	// variables and selection
	`user`, `channel`, `kind`, `id`, `room`, `user.sub`, `user.nested.a.b`, `user.missing`, `user.nested.missing.b`,
	`user['sub']`, `user.rooms[0]`, `user.rooms[1]`, `user.rooms[2]`, `user.rooms[-1]`, `user.rooms[user.n]`,
	`user.rooms[user.f]`, `user.rooms['a']`, `user.sub.x`, `user.sub[0]`, `channel.x`, `channel[0]`,
	`has(user.sub)`, `has(user.missing)`, `has(user.nested.a)`, `has(user.nested.a.z)`, `has(user.sub.x)`,
	`has(user)`, `has(channel.x)`, `has(user.missing.x)`, `user.nul`, `has(user.nul)`, `user.nul == null`,
	// arithmetic
	`1 + 2 * 3`, `(1 + 2) * 3`, `7 / 2`, `-7 / 2`, `7 % 3`, `-7 % 3`, `7 % -3`, `1 / 0`, `1 % 0`,
	`9223372036854775807 + 1`, `-9223372036854775808 - 1`, `9223372036854775807 * 2`, `-9223372036854775808 / -1`,
	`-9223372036854775808 % -1`, `-(-9223372036854775808)`, `--1`, `---1`, `- -1`, `!true`, `!!true`, `!-1`, `-!true`,
	`1.5 + 2.5`, `1.0 / 0.0`, `-1.0 / 0.0`, `0.0 / 0.0`, `1.5 % 1.0`, `2u + 3u`, `2u - 3u`, `18446744073709551615u + 1u`,
	`2u * 3u`, `7u / 2u`, `7u % 0u`, `1 + 1u`, `1 + 1.0`, `'a' + 'b'`, `'a' + 1`, `[1] + [2]`, `[1] + ['a']`,
	`user.rooms + ['x']`, `user.n + 1`, `user.n + 1.0`, `user.sub + 'x'`, `user.sub + 1`, `user.rooms + user.roles`,
	`-user.n`, `-user.sub`, `-user.huge`, `user.big * user.big`, `int(user.n) + 1`,
	// comparison
	`1 == 1`, `1 == 1.0`, `1 == 'a'`, `1 < 2`, `1 < 2.0`, `2.0 > 1.5`, `'a' < 'b'`, `'b' <= 'a'`, `false < true`,
	`true >= false`, `null == null`, `null < null`, `[1] == [1]`, `[1] == [1.0]`, `[1] < [2]`, `{'a': 1} == {'a': 1}`,
	`user.n == 1`, `user.n == 1u`, `user.n == 1.0`, `user.f == 1`, `user.n < 2`, `user.n < 2u`, `user.f > 1`,
	`user.neg < 0u`, `user.huge > 9223372036854775807`, `user.big > 18446744073709551615u`, `user.n == 'a'`,
	`user.sub == 1`, `user.sub < 1`, `user.nul == null`, `user.nul != null`, `user.rooms == ['lobby', 'ops']`,
	`user.mixed == [1, 'a', true, null, 2.5]`, `user.nested == {'a': {'b': 'c'}, 'xs': [1, 2, 3]}`,
	`user.nested.xs == [1, 2, 3]`, `user.nested.xs == [1u, 2u, 3u]`, `user.admin == true`, `user.admin < true`,
	`double('NaN') == double('NaN')`, `double('NaN') != double('NaN')`, `double('NaN') < 1.0`, `user.n < double('NaN')`,
	`1 < 2 == true`, `1 == 1 == true`, `user.rooms < user.roles`,
	// in
	`'ops' in user.rooms`, `'x' in user.rooms`, `1 in user.mixed`, `1.0 in user.mixed`, `'sub' in user`, `'x' in user`,
	`1 in user`, `1 in ['a']`, `1 in [1.0]`, `'a' in {'a': 1}`, `1 in {'a': 1}`, `user.n in [1, 2]`, `user.n in user.nested.xs`,
	`'a' in 'abc'`, `'a' in user.sub`, `null in [null]`, `[1] in [[1]]`, `id in user.rooms`, `user.sub in ['1', '2']`,
	// logic
	`true && false`, `true || false`, `user.missing || true`, `true || user.missing`, `user.missing && false`,
	`false && user.missing`, `user.missing || false`, `user.missing && true`, `user.sub || true`, `user.sub && true`,
	`user.sub || false`, `1 || true`, `user.missing || user.sub == '1'`, `user.rooms.size() > 5 || user.admin`,
	`user.admin ? 'yes' : 'no'`, `user.off ? 1 : 2`, `user.sub ? 1 : 2`, `user.missing ? 1 : 2`, `true ? 1 : 'a'`,
	`true ? 1 : user.n`, `false ? user.missing : 3`, `true ? true ? 1 : 2 : 3`, `1 ? 2 : 3`,
	// functions
	`size('héllo')`, `'héllo'.size()`, `size(user.rooms)`, `size(user)`, `size(user.sub)`, `size(user.n)`, `size(1)`,
	`size()`, `size(1, 2)`, `user.email.endsWith('@example.com')`, `user.email.startsWith('alice')`,
	`user.email.contains('@')`, `user.n.contains('a')`, `'abc'.contains()`, `startsWith('a', 'b')`,
	`user.email.matches('^[a-z]+@example\\.com$')`, `matches(user.email, 'ALICE')`, `'a'.matches('(')`,
	`'a'.matches(user.sub)`, `user.sub.matches('[')`, `int('12')`, `int('-12')`, `int(' 1')`, `int('0x10')`, `int(1.9)`,
	`int(-1.9)`, `int(1e19)`, `int(user.huge)`, `int(user.big)`, `int(9223372036854775807.0)`, `int(-9223372036854775808.0)`,
	`int(18446744073709551615u)`, `int(true)`, `int(user.sub)`, `int(user.f)`, `uint(1)`, `uint(-1)`, `uint(1.5)`,
	`uint(-0.5)`, `uint('7')`, `uint(user.huge)`, `double(1)`, `double('1e3')`, `double('inf')`, `double('x')`, `double(1u)`,
	`string(1)`, `string(1u)`, `string(1.5)`, `string(1e100)`, `string(0.1)`, `string(-0.0)`, `string(1.0)`,
	`string(user.n)`, `string(user.big)`, `string(true)`, `string(null)`, `string(user.rooms)`, `bool('true')`,
	`bool('TRUE')`, `bool('T')`, `bool('0')`, `bool('yes')`, `bool(1)`, `dyn(1) + 1.0`, `dyn(1) == 1.0`, `type(1)`,
	`'Ab'.lowerAscii()`, `'Ab'.upperAscii()`, `'héllo'.charAt(1)`, `'abc'.charAt(3)`, `'abc'.charAt(4)`,
	`'abc'.charAt(-1)`, `'héllo'.indexOf('l')`, `'abc'.indexOf('')`, `'abc'.indexOf('z')`, `'a,b'.split(',')`,
	`''.split(',')`, `'abc'.split('')`, `user.rooms.join()`, `user.rooms.join(', ')`, `user.mixed.join()`,
	`['a', 'b'].join('-')`, `[].join()`, `user.email.split('@')[1] == 'example.com'`, `' a '.trim()`,
	`'abc'.substring(1)`, `'aaa'.replace('a', 'b')`, `'%d'.format([1])`, `strings.quote('a')`, `foo(1)`, `user.foo()`,
	`duration('1s')`, `timestamp('2020-01-01T00:00:00Z')`, `'a'.lastIndexOf('a')`, `bytes('a')`,
	// macros
	`user.rooms.exists(r, r == 'ops')`, `user.rooms.all(r, r.size() > 2)`, `user.rooms.exists_one(r, r == 'ops')`,
	`user.rooms.map(r, r + '!')`, `user.rooms.map(r, r != 'ops', r.upperAscii())`, `user.rooms.filter(r, r != 'ops')`,
	`user.nested.xs.map(x, x * 2)`, `user.nested.xs.filter(x, x > 1)`, `[1, 2, 3].exists_one(x, x > 1)`,
	`[1, 'a'].all(x, x > 0)`, `['a', 1].all(x, x > 0)`, `[0, 'a'].exists(x, x > 0)`, `['a', 2].exists(x, x > 1)`,
	`[1, 'a', 0].all(x, x > 0)`, `user.mixed.exists(x, x == 'a')`, `user.mixed.map(x, x + 1)`,
	`user.nested.all(k, k.size() > 0)`, `user.org.teams.exists(t, t in user.roles)`,
	`user.none.all(x, false)`, `user.none.exists(x, true)`, `user.none.map(x, x)`,
	`user.rooms.all(r, user.rooms.exists(s, s == r))`, `user.rooms.exists(user, user == 'ops')`,
	`user.rooms.exists(r, r)`, `user.rooms.all(r, 1)`, `user.rooms.map(r, 1, r)`, `user.rooms.exists(1, true)`,
	`user.rooms.exists(r)`, `user.sub.exists(r, true)`, `1.exists(r, true)`, `user.rooms.map(r, r).map(r, r.size())`,
	`[[1, 2], [3]].map(l, l.map(x, x + 1))`, `user.nested.xs.exists_one(x, x / 0 == 1)`,
	`user.nested.xs.all(x, x / (x - 1) >= 0)`, `user.nested.xs.exists(x, x / (x - 1) > 1)`,
	// syntax errors and the like
	``, ` `, `(`, `)`, `1 +`, `user.`, `user..sub`, `[1, 2`, `{'a' 1}`, `{'a': 1`, `1 2`, `a b`, `'unterminated`,
	`user.sub == 'x' // a comment`, "user.sub ==\n'1'", `if`, `user.if`, `user.in`, `in`, `null.x`, `true.x`,
	`.user`, `user.?sub`, `user[?'sub']`, `Foo{a: 1}`, `f(1,)`, `size(1,)`, `user.sub @ 1`, `user.sub & 1`,
	`user.sub = 1`, `'é' == '\u00e9'`, `'\xff'.size()`, `1 ? : 2`,
	// type-checking corners
	`null == 1`, `1 == null`, `null < 1`, `null + 1`, `null + null`, `null - null`, `null % null`, `user.n + null`, `null * null`, `null / null`, `user.n - null`, `double(null)`, `uint(null)`, `string(null) == 'x'`, `user.n < null`, `null >= user.n`, `-null`, `!null`, `size(null)`, `null.startsWith('a')`, `null && true`, `true ? null : null`, `int(null)`, `bool(null)`, `null.size()`, `null[0]`, `[null][0] + 1`, `null == user.n`, `[1] == null`, `{} == null`, `null in [1]`, `user.n < [1]`, `[] == []`,
	`[1] == [user.n]`, `[1, 2.0] == [1, 2]`, `{'a': 1}.a`, `{'a': 1}['a']`, `{'a': 1}[user.sub]`, `{'a': 1}[1]`,
	`[1, 2][1u]`, `user.off[null]`, `user.nested[true]`, `user.nested[1.5]`, `user.nested[1u]`, `user.rooms[1u]`, `user.rooms[1.0]`, `user.rooms[true]`, `[1, 2][user.n]`, `-user.rooms`, `!user.sub`, `user.rooms + 1`, `user.rooms + [1]`,
	`true ? [1] : []`, `true ? {} : {'a': 1}`, `true ? null : 1`, `'a'.indexOf('a', 0)`, `'a,b'.split(',', 1)`, `'a,b,c'.split(',', 2)`, `'a,b'.split(',', 0)`, `'a,b'.split(',', -1)`,
	`'héllo wörld'.indexOf('l', 3)`, `'abc'.indexOf('', 5)`, `'abc'.indexOf('c', 5)`, `'abc'.indexOf('a', -1)`,
	`'héllo'.lastIndexOf('l')`, `'abc'.lastIndexOf('')`, `'abcabc'.lastIndexOf('bc', 3)`, `'abc'.lastIndexOf('a', 9)`,
	`'abc'.lastIndexOf('', 1)`, `'abc'.lastIndexOf('', 9)`, `'abc'.lastIndexOf('a', -1)`, `'abc'.lastIndexOf('abcd')`,
	`'héllo'.substring(1)`, `'héllo'.substring(1, 3)`, `'abc'.substring(3)`, `'abc'.substring(4)`, `'abc'.substring(2, 1)`,
	`'abc'.substring(-1, 2)`, `'abc'.substring(0, 4)`, `'aaa'.replace('a', 'bb', 2)`, `'aaa'.replace('', '-')`,
	`'aaa'.replace('a', 'b', -1)`, `'aaa'.replace('a', 'b', 0)`, `' \t a b \n'.trim()`, `'\u00a0a\u2003'.trim()`,
	`'héllo'.reverse()`, `user.email.substring(0, user.email.indexOf('@'))`, `user.email.lastIndexOf('.')`,
	`'a'.lastIndexOf('a')`, `strings.quote('a')`, `user.rooms.join(1)`, `[1].join()`, `'abc'.charAt(user.n)`,
	`int(user.sub)`, `dyn(user).sub`, `dyn([1])[0]`, `size(dyn('abc'))`, `dyn(1).contains('a')`,
}

// stricter are expressions that can only fail, which Compile refuses while
// cel-go compiles them and fails on every evaluation.
var stricter = map[string]bool{
	`'a'.matches('(')`: true, `user.sub.matches('[')`: true,
}

func TestDifferential(t *testing.T) {
	env := celEnv(t)
	claims := claimsFrom(t, testClaims)
	for _, src := range differential {
		h, c := compareBoth(t, env, src, claims)
		// Where cel-go refuses to compile, so must Compile: authors learn
		// of the mistake at start-up, not per request.
		if c.compileErr != nil && h.compileErr == nil && !h.failed() {
			continue // reported by compareBoth
		}
		if c.compileErr != nil && h.compileErr == nil {
			t.Errorf("%s: compiles, fails only when evaluated: %v; cel-go: %v", src, h, c)
		}
		if c.compileErr == nil && h.compileErr != nil && !h.unsupported && !stricter[src] {
			t.Errorf("%s: does not compile: %v; cel-go: %v", src, h, c)
		}
	}
}
