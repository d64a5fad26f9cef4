package rl

// philoxKnownAnswers are Random123's known-answer vectors of philox4x32
// with 10 rounds: {ctr, key (in words 0 and 1), expected}. They are the
// three "philox4x32 10" lines of tests/kat_vectors in
// github.com/DEShawResearch/random123 at commit
// 9545ff6413f258be2f04c1d319d99aaef7521150: counter and key all zeros,
// all ones, and the first hex digits of pi.
//
// They live in a non-test file so that every test of package rl (the
// shader tests too) can check its Philox against them.
var philoxKnownAnswers = [][3][4]uint32{
	{
		{0x00000000, 0x00000000, 0x00000000, 0x00000000},
		{0x00000000, 0x00000000},
		{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
	},
	{
		{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
		{0xffffffff, 0xffffffff},
		{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
	},
	{
		{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
		{0xa4093822, 0x299f31d0},
		{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
	},
}
