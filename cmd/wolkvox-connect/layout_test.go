package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// layers ranks the repository's top-level folders: a package may import packages of its
// own folder or of a folder ranked lower, never one ranked the same or higher. (Go
// itself forbids cycles inside a folder: the engine at source/ builds on source/wolkvox,
// source/restapi builds on the engine.)
var layers = map[string]int{
	"cmd":     4,
	"source":  3,
	"offsets": 2,
	"schemas": 1,
	"sink":    1,
	"deploy":  0,
}

// TestLayering holds the architecture: every import of a package of this module points
// down (see layers). Test files may reach up to prove how layers work together (the
// schemas tests read the simulator through the client); only the packages themselves
// are held to it.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	prefix := strings.TrimSpace(string(mod)) + "/"
	top := func(pkg string) (string, bool) {
		rel, ok := strings.CutPrefix(pkg, prefix)
		if !ok {
			return "", false
		}
		folder, _, _ := strings.Cut(rel, "/")
		return folder, true
	}
	packages := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		from, ok := top(fields[0])
		if !ok {
			continue
		}
		rank, known := layers[from]
		if !known {
			t.Errorf("%s is in a top-level folder %q the layers do not know", fields[0], from)
			continue
		}
		packages++
		for _, imp := range fields[1:] {
			to, ours := top(imp)
			if !ours || to == from {
				continue
			}
			if layers[to] >= rank {
				t.Errorf("%s imports %s: %s/ may only import folders below it", strings.TrimPrefix(fields[0], prefix), strings.TrimPrefix(imp, prefix), from)
			}
		}
	}
	if packages < 10 {
		t.Fatalf("go list found %d packages of this module; the test looks in the wrong place", packages)
	}
}
