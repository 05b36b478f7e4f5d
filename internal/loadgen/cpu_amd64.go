package loadgen

import "encoding/binary"

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// brandName is the CPUID brand string, exactly as Go's internal/cpu.Name
// reads it (leading spaces trimmed, trailing ones kept), so that the cpu:
// line matches the one go test prints and benchstat groups both files
// alike.
func brandName() string {
	if maxExt, _, _, _ := cpuid(0x80000000, 0); maxExt < 0x80000004 {
		return ""
	}
	data := make([]byte, 0, 48)
	for leaf := uint32(0x80000002); leaf <= 0x80000004; leaf++ {
		a, b, c, d := cpuid(leaf, 0)
		for _, r := range [4]uint32{a, b, c, d} {
			data = binary.LittleEndian.AppendUint32(data, r)
		}
	}
	for len(data) > 0 && data[0] == ' ' {
		data = data[1:]
	}
	for i, c := range data {
		if c == 0 {
			data = data[:i]
			break
		}
	}
	return string(data)
}
