// Package difftest holds the differential tests: the same iptables,
// iptables-save and iptables-restore command sequences run against the
// kernel's iptables-legacy 1.8.9 inside a throwaway network namespace and
// against nfgo's in-process tools over a scratch state directory, with exit
// statuses, standard output and standard error compared byte for byte.
//
// The tests need root, network namespaces and iptables-legacy; elsewhere
// they skip. Known differences between upstream 1.8.13 (which nfgo follows
// where the conformance vectors demand it) and the 1.8.9 binary are listed
// by name in knownDiffs (harness_test.go).
package difftest
