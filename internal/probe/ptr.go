package probe

func ip(i int) *int { return &i }

func fp(f float64) *float64 { return &f }
