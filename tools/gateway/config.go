package gateway

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// DefaultConfig is the configuration file the systemd unit names
// (contrib/nfgo-gateway.service): `nfgo gateway --config /etc/nfgo/gateway.conf`.
const DefaultConfig = "/etc/nfgo/gateway.conf"

// configOptions are the options a configuration file may hold: every
// option of the command line that takes a value, written without its
// dashes.
var configOptions = map[string]bool{
	"tun": true, "route": true, "state": true, "log": true, "log-route": true,
	"log-rotate": true, "metrics": true, "queues": true,
}

// parseConfig turns a configuration file into command-line arguments: one
// option per line, its name without dashes, whitespace, then its value
// ("tun nfgo0,10.0.1.1/24"); blank lines and lines starting with # are
// skipped. The arguments go before the command line's own, so an option
// given on both uses the command line's value, and repeatable ones (tun,
// route, log-route) add up.
func parseConfig(name string, text string) ([]string, error) {
	var args []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			key, val = line[:i], strings.TrimSpace(line[i+1:])
		}
		if !configOptions[key] {
			return nil, fmt.Errorf("%s:%d: unknown option %q", name, n, key)
		}
		if val == "" {
			return nil, fmt.Errorf("%s:%d: option %s needs a value", name, n, key)
		}
		args = append(args, "--"+key, val)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return args, nil
}

// expandConfig replaces each --config FILE of args by the file's options,
// read before the rest of the command line.
func expandConfig(args []string) ([]string, error) {
	var fromFiles, rest []string
	for i := 0; i < len(args); i++ {
		if args[i] != "--config" {
			rest = append(rest, args[i])
			continue
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("option --config needs an argument")
		}
		i++
		b, err := os.ReadFile(args[i])
		if err != nil {
			return nil, err
		}
		a, err := parseConfig(args[i], string(b))
		if err != nil {
			return nil, err
		}
		fromFiles = append(fromFiles, a...)
	}
	return append(fromFiles, rest...), nil
}
