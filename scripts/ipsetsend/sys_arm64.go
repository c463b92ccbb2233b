// sendmmsg(2) is not in package syscall.
package main

const sysSendmmsg = 269
