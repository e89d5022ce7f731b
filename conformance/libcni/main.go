// cnidriver runs CNI plugins the way a container runtime does: through the
// reference runtime library (libcni, Debian's golang-github-appc-cni-dev), with
// a result cache directory and capability arguments turned into runtimeConfig.
//
//	cnidriver add|check|del|cached|validate --conflist FILE --cni-path DIR[:DIR]
//	    --cache-dir DIR [--netns PATH] [--ifname NAME] [--containerid ID]
//	    [--capabilities JSON] [--args K=V;K=V]
//
// stdout carries one JSON document: the result (add, cached), the supported
// versions per plugin (validate), or {"error": ..., "code": N} on failure, in
// which case the exit status is 1. check and del print {} on success.
//
// The libcni packaged in Debian bookworm is v1.1.2: it speaks spec versions up
// to 1.0.0 and has no GC or STATUS verbs, so this driver cannot exercise them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

type options struct {
	conflist     string
	cniPath      string
	cacheDir     string
	netns        string
	ifname       string
	containerID  string
	capabilities string
	args         string
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	verb := os.Args[1]
	var o options
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	fs.StringVar(&o.conflist, "conflist", "", "network configuration list (.conflist) or single config (.conf)")
	fs.StringVar(&o.cniPath, "cni-path", "/opt/cni/bin", "colon-separated plugin directories")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "libcni cache directory (results/ lives below it)")
	fs.StringVar(&o.netns, "netns", "", "network namespace path")
	fs.StringVar(&o.ifname, "ifname", "eth0", "interface name in the container")
	fs.StringVar(&o.containerID, "containerid", "", "container ID")
	fs.StringVar(&o.capabilities, "capabilities", "", "capability arguments as a JSON object, e.g. {\"mac\":\"..\"}")
	fs.StringVar(&o.args, "args", "", "CNI_ARGS as K=V;K=V")
	if err := fs.Parse(os.Args[2:]); err != nil {
		fail(err)
	}
	if o.conflist == "" || o.cacheDir == "" {
		fail(errors.New("--conflist and --cache-dir are required"))
	}
	if err := run(verb, &o); err != nil {
		fail(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cnidriver add|check|del|cached|validate --conflist FILE --cache-dir DIR [options]")
	os.Exit(2)
}

func run(verb string, o *options) error {
	list, err := loadList(o.conflist)
	if err != nil {
		return err
	}
	rt, err := runtimeConf(o)
	if err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(o.cniPath, ":"), o.cacheDir, nil)
	ctx := context.Background()

	switch verb {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		return printJSON(res)
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			return err
		}
		return printJSON(struct{}{})
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			return err
		}
		return printJSON(struct{}{})
	case "cached":
		res, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			return err
		}
		if res == nil {
			return errors.New("no cached result")
		}
		return printJSON(res)
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			return err
		}
		versions := map[string][]string{}
		for _, p := range list.Plugins {
			info, err := cni.GetVersionInfo(ctx, p.Network.Type)
			if err != nil {
				return err
			}
			versions[p.Network.Type] = info.SupportedVersions()
		}
		return printJSON(map[string]interface{}{"capabilities": caps, "supportedVersions": versions})
	default:
		usage()
	}
	return nil
}

// loadList accepts a .conflist, or a single .conf wrapped into a list the way
// runtimes do (libcni.ConfListFromConf).
func loadList(path string) (*libcni.NetworkConfigList, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := probe["plugins"]; ok {
		return libcni.ConfListFromBytes(raw)
	}
	conf, err := libcni.ConfFromBytes(raw)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(conf)
}

func runtimeConf(o *options) (*libcni.RuntimeConf, error) {
	rt := &libcni.RuntimeConf{
		ContainerID: o.containerID,
		NetNS:       o.netns,
		IfName:      o.ifname,
	}
	if o.capabilities != "" {
		if err := json.Unmarshal([]byte(o.capabilities), &rt.CapabilityArgs); err != nil {
			return nil, fmt.Errorf("--capabilities: %w", err)
		}
	}
	if o.args != "" {
		for _, kv := range strings.Split(o.args, ";") {
			parts := strings.SplitN(kv, "=", 2)
			if len(parts) != 2 {
				return nil, fmt.Errorf("--args: %q is not K=V", kv)
			}
			rt.Args = append(rt.Args, [2]string{parts[0], parts[1]})
		}
	}
	return rt, nil
}

func printJSON(v interface{}) error {
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// fail prints the error as JSON, keeping the plugin's CNI error code when
// libcni surfaced one, and exits 1.
func fail(err error) {
	out := map[string]interface{}{"error": err.Error()}
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		out["code"] = cniErr.Code
		out["msg"] = cniErr.Msg
		out["details"] = cniErr.Details
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	os.Exit(1)
}
