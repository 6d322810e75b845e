package schemas

// What the external tests (package schemas_test, which may import the source client
// without an import cycle) share with this package's own tests.
var (
	EmbeddedSet = embeddedSet
	HambaParse  = hambaParse
	TestMeta    = testMeta
	SameValue   = sameValue
	Bogota      = bogota
)

const (
	AttrKey  = attrKey
	AttrType = attrType
)
