//go:build !linux

package wsauth

import "time"

// threadCPU is not measured outside Linux; CPU metrics read zero.
func threadCPU() time.Duration { return 0 }
