package wolkvox

import "github.com/wolkvox-connect/wolkvox-connect/schemas"

// Row and Cell are the raw row as the API sends it, defined with the rest of what the
// data is in schemas; the client hands rows on in that form.
type (
	Row  = schemas.Row
	Cell = schemas.Cell
)
