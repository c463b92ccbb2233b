package xt

import "testing"

// CT's packet logic: --notrack, a plain template, --zone N and --helper
// ftp run; other helpers, directional and mark zones, timeouts and events
// are refused; the first CT
// target a packet meets wins (xt_ct_target leaves a packet with
// conntrack information alone).
func TestCTPacketLogic(t *testing.T) {
	for _, c := range []struct {
		ct CT
		ok bool
	}{
		{CT{Flags: CTNotrack}, true},
		{CT{}, true},
		{CT{Helper: "ftp"}, true},
		{CT{Helper: "irc"}, false},
		{CT{Helper: "ftp", Zone: 1}, true},
		{CT{Flags: CTZoneMark}, false},
		{CT{Flags: CTZoneDirOrig, Zone: 2}, false},
		{CT{Timeout: "x"}, false},
		{CT{CtEvents: 1}, false},
	} {
		if err := c.ct.PacketLogic(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.ct, err)
		}
	}
	p := &Pkt{}
	(&CT{Helper: "ftp"}).Target(p)
	if !p.CTTemplate || p.CTHelper == nil || p.CTHelper.Name != "ftp" {
		t.Fatal("helper not attached")
	}
	(&CT{Flags: CTNotrack}).Target(p)
	if p.Untracked {
		t.Fatal("a later --notrack overrode the template")
	}
	q := &Pkt{}
	(&CT{Flags: CTNotrack}).Target(q)
	(&CT{Helper: "ftp"}).Target(q)
	if !q.Untracked || q.CTHelper != nil {
		t.Fatal("a later --helper overrode --notrack")
	}
	r := &Pkt{}
	ct := &CT{Helper: "ftp"}
	if n := testing.AllocsPerRun(100, func() { *r = Pkt{}; ct.Target(r) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
