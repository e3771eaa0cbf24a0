package x
import (
 _ "go.temporal.io/sdk/client"
 _ "go.temporal.io/sdk/testsuite"
 _ "k8s.io/client-go/kubernetes"
 _ "k8s.io/client-go/kubernetes/fake"
 _ "k8s.io/client-go/tools/clientcmd"
 _ "github.com/google/go-containerregistry/pkg/name"
 _ "gopkg.in/yaml.v3"
 _ "github.com/stretchr/testify/require"
)
