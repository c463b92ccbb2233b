module github.com/nfgo/nfgo

go 1.26.8

require (
	github.com/gopacket/gopacket v1.7.7
	pgregory.net/rapid v1.3.0
)

require (
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)
