package xt

// The registry: every extension nfgo supports, listed explicitly. Adding an
// extension means one file and one line here.
var matchDefs = []*Def{
	// protocol matches
	&tcpMatch,
	// group: matches A
	&udpMatch, &icmpMatch, &multiportMatch, &commentMatch, &lengthMatch,
	&markMatch, &iprangeMatch, &macMatch, &pkttypeMatch, &ttlMatch,
	// group: matches B
	&tosMatch, &dscpMatch, &tcpmssMatch, &ownerMatch, &stringMatch,
	&timeMatch, &addrtypeMatch, &statisticMatch,
	// group: matches C
	&stateMatch, &conntrackMatch, &connmarkMatch, &recentMatch, &limitMatch,
	&hashlimitMatch, &connlimitMatch, &setMatch, &quotaMatch, &ecnMatch,
}

var targetDefs = []*Def{
	// group: targets A
	&rejectTarget, &logTarget, &nflogTarget, &nfqueueTarget, &traceTarget,
	&notrackTarget, &ctTarget, &markTarget, &connmarkTarget,
	// group: targets B
	&snatTarget, &dnatTarget, &masqueradeTarget, &redirectTarget, &netmapTarget,
	&setTarget, &tcpmssTarget, &tosTarget, &dscpTarget,
	// group: targets C
	&ttlTarget, &checksumTarget, &ecnTarget,
}

// unsupported lists extensions iptables ships that nfgo does not implement:
// they get a clear "not supported by nfgo" error instead of being accepted.
var unsupported = map[string]bool{
	"ah": true, "bpf": true, "cgroup": true, "cluster": true, "connbytes": true,
	"connlabel": true, "cpu": true, "dccp": true, "devgroup": true,
	"esp": true, "helper": false, "ipcomp": true, "ipvs": true, "nfacct": true, "osf": true,
	"physdev": true, "policy": true, "rateest": true, "realm": true,
	"rpfilter": true, "sctp": true, "socket": true, "u32": true, "udplite": false,
	"AUDIT": true, "CLASSIFY": true, "CONNSECMARK": true,
	"HMARK": true, "IDLETIMER": true, "LED": true, "RATEEST": true, "SECMARK": true,
	"SYNPROXY": true, "TCPOPTSTRIP": true, "TEE": true, "TPROXY": true,
	"CLUSTERIP": true, "ULOG": true, "NETMAP6": false, "HL": true, "hl": true,
	"DNPT": true, "SNPT": true, "eui64": true, "frag": true, "hbh": true, "dst": true,
	"ipv6header": true, "mh": true, "rt": true, "srh": true, "icmp6": true, "geoip": true,
	"condition": true, "fuzzy": true, "ipp2p": true, "account": true,
}

// KnownUnsupported reports whether name is a real iptables extension that
// nfgo refuses.
func KnownUnsupported(name string) bool { return unsupported[name] }

// LookupMatch finds a match by name for the family (libxt_ ones serve both).
func LookupMatch(name string, f Family) *Def {
	for _, d := range matchDefs {
		if d.Name == name && (d.Family == FamilyAny || f == FamilyAny || d.Family == f) {
			return d
		}
	}
	return nil
}

// LookupTarget finds a target by name (any family).
func LookupTarget(name string) *Def {
	for _, d := range targetDefs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Matches lists the registered matches.
func Matches() []*Def { return matchDefs }

// Targets lists the registered targets.
func Targets() []*Def { return targetDefs }
