//go:build !linux

package wsauth_test

import "time"

// threadCPU is not measured outside Linux; CPU metrics read zero.
func threadCPU() time.Duration { return 0 }
