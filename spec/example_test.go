package spec_test

import (
	"fmt"
	"log"

	"github.com/smoothl1/smoothl1/spec"
)

// A spec names a loss; Canonical writes every parameter out, and parses back to the same loss.
func ExampleParse() {
	for _, text := range []string{"smoothl1:beta=0.11", "sasl:std", "dsl:k=16"} {
		s, err := spec.Parse(text)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-20s scheduled=%-5v %s\n", text, s.Scheduled(), s.Canonical())
	}
	_, err := spec.Parse("sasl:betamax=0.11,momentum=2")
	fmt.Println(err)
	// Output:
	// smoothl1:beta=0.11   scheduled=false smoothl1:beta=0.11
	// sasl:std             scheduled=true  sasl:betamax=0.11,momentum=0.1,betamin=0.001,mean0=0.11,var0=0,std
	// dsl:k=16             scheduled=true  dsl:k=16,interval=100,beta0=1,source=target
	// spec: bad loss spec "sasl:betamax=0.11,momentum=2": stats: momentum not in (0, 1]: SelfAdjustingConfig.Momentum = 2
}
