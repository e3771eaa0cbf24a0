// Command buildvulnapp builds the fixture program whose dependencies the fixture vulnerability databases
// flag (tests/fixtures/vulnapp, see testimage.BuildVulnApp) into OUTDIR and prints the binary's path, so a
// script can put it into an image:
//
//	vuln=$(go run ./tests/testimage/cmd/buildvulnapp "$DIR/vulnapp")
//	bin/mkimage --binary "$vuln" --version v1.3.0 --push "$IMAGE:v1.3.0"
//
// Run it from inside the repository. Exit status: 0 built, 1 the build failed, 2 bad arguments.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vektagraf/slipway/tests/testimage"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "" || os.Args[1][0] == '-' {
		fmt.Fprintln(os.Stderr, "usage: buildvulnapp OUTDIR   (builds tests/fixtures/vulnapp into OUTDIR/vulnapp, prints its path)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	bin, err := testimage.BuildVulnApp(ctx, os.Args[1])
	cancel()
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "buildvulnapp: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(bin)
}
