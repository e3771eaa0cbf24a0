// Command hello prints a greeting; the imagebuild tests build it as the binary of their images.
package main

import "fmt"

func main() { fmt.Println("hello from an imagebuild test image") }
