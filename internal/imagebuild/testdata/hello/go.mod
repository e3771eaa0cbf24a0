// A tiny static program the imagebuild tests put into images; its own module, so the main module's
// go build ./... never builds it.
module example.com/hello

go 1.22
