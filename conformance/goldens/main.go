// Command goldens writes testdata/results/<from>/<to>.json: each input result in
// testdata/results/input/ converted to every version by the reference Go library
// (Debian's golang-github-appc-cni-dev, spec up to 1.0.0).
//
// That library (v1.1.2) predates 1.1.0, so for 1.1.0 the expectation is derived by the rules of
// the current library (libcni >= 1.2), which Multus and the runtimes link today:
//   - from 1.1.0 to an older version: drop the 1.1.0-only fields (interface mtu, socketPath,
//     pciID; route mtu, advmss, priority, table, scope), read the rest as 1.0.0 and convert
//     that with the reference library; then put back what the current library keeps: the
//     interface fields in 1.0.0 (its types/100 serves 1.0.0 and 1.1.0), the route fields in
//     every version from 0.3.0 up (its types.Route is shared by them);
//   - to 1.1.0 from an older version: the reference conversion to 1.0.0, relabelled 1.1.0
//     (no 1.1.0-only field can appear);
//   - 1.1.0 to 1.1.0: the input itself.
//
// A conversion the reference refuses is written as {"error": "<its message>"}.
//
// Run: GO111MODULE=off GOPATH=/usr/share/gocode go run conformance/goldens/main.go testdata/results
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/containernetworking/cni/pkg/types/020"
	_ "github.com/containernetworking/cni/pkg/types/040"
	_ "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"
)

var versions = []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// strip11 removes the 1.1.0-only fields and relabels the document 1.0.0.
func strip11(doc map[string]interface{}) {
	doc["cniVersion"] = "1.0.0"
	if ifs, ok := doc["interfaces"].([]interface{}); ok {
		for _, i := range ifs {
			m := i.(map[string]interface{})
			delete(m, "mtu")
			delete(m, "socketPath")
			delete(m, "pciID")
		}
	}
	if rs, ok := doc["routes"].([]interface{}); ok {
		for _, r := range rs {
			m := r.(map[string]interface{})
			for _, k := range []string{"mtu", "advmss", "priority", "table", "scope"} {
				delete(m, k)
			}
		}
	}
}

var interfaceFields = []string{"mtu", "socketPath", "pciID"}
var routeFields = []string{"mtu", "advmss", "priority", "table", "scope"}

// keepCurrent copies `fields` of each element of orig[key] to the element at the same index of
// conv[key]: conversions keep the order of interfaces and routes.
func keepCurrent(orig, conv map[string]interface{}, key string, fields []string) {
	from, _ := orig[key].([]interface{})
	to, _ := conv[key].([]interface{})
	for i := range to {
		if i >= len(from) {
			break
		}
		src := from[i].(map[string]interface{})
		dst := to[i].(map[string]interface{})
		for _, f := range fields {
			if v, ok := src[f]; ok {
				dst[f] = v
			}
		}
	}
}

func convert(input []byte, from, to string) interface{} {
	var orig map[string]interface{}
	must(json.Unmarshal(input, &orig))
	if from == "1.1.0" && to == "1.1.0" {
		var doc interface{}
		must(json.Unmarshal(input, &doc))
		return doc
	}
	if from == "1.1.0" {
		var doc map[string]interface{}
		must(json.Unmarshal(input, &doc))
		strip11(doc)
		b, err := json.Marshal(doc)
		must(err)
		input, from = b, "1.0.0"
	}
	target := to
	if to == "1.1.0" {
		target = "1.0.0"
	}
	res, err := create.Create(from, input)
	must(err)
	conv, err := res.GetAsVersion(target)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	b, err := json.Marshal(conv)
	must(err)
	var doc map[string]interface{}
	must(json.Unmarshal(b, &doc))
	if to == "1.1.0" {
		doc["cniVersion"] = "1.1.0"
	}
	if orig["cniVersion"] == "1.1.0" {
		if to == "1.0.0" {
			keepCurrent(orig, doc, "interfaces", interfaceFields)
		}
		if to != "0.1.0" && to != "0.2.0" {
			keepCurrent(orig, doc, "routes", routeFields)
		}
	}
	return doc
}

func main() {
	dir := os.Args[1]
	for _, from := range versions {
		input, err := os.ReadFile(filepath.Join(dir, "input", from+".json"))
		must(err)
		must(os.MkdirAll(filepath.Join(dir, from), 0o755))
		for _, to := range versions {
			out, err := json.MarshalIndent(convert(input, from, to), "", "  ")
			must(err)
			must(os.WriteFile(filepath.Join(dir, from, to+".json"), append(out, '\n'), 0o644))
		}
	}
	// A result with no IP address cannot be printed as 0.1.0 or 0.2.0.
	empty := []byte(`{"cniVersion":"1.0.0","interfaces":[{"name":"net1","sandbox":"/run/netns/p"}]}`)
	must(os.MkdirAll(filepath.Join(dir, "no-ip"), 0o755))
	for _, to := range []string{"0.2.0", "0.4.0"} {
		out, err := json.MarshalIndent(convert(empty, "1.0.0", to), "", "  ")
		must(err)
		must(os.WriteFile(filepath.Join(dir, "no-ip", to+".json"), append(out, '\n'), 0o644))
	}
}
