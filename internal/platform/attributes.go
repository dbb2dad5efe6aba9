package platform

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/contract"
)

// SearchAttribute is a custom search attribute the workflows set, with its
// type as the Temporal CLI names it (Keyword, Int).
type SearchAttribute struct {
	Name, Type string
}

// SearchAttributes are the attributes every order's workflows carry
// (contract.SearchAttributeFlags): OrderNo, UserId, OrderStatus,
// PayChannel. A workflow started without them registered fails.
func SearchAttributes() []SearchAttribute {
	var out []SearchAttribute
	for i := 1; i < len(contract.SearchAttributeFlags); i += 2 {
		name, typ, _ := strings.Cut(contract.SearchAttributeFlags[i], "=")
		out = append(out, SearchAttribute{Name: name, Type: typ})
	}
	return out
}

// MissingSearchAttributesError names the search attributes the namespace
// lacks (or holds with another type) and the commands that create them.
type MissingSearchAttributesError struct {
	Namespace string
	Missing   []SearchAttribute
	// WrongType are attributes registered with another type: they must be
	// removed (temporal operator search-attribute remove) and created again.
	WrongType []string
}

func (e *MissingSearchAttributesError) Error() string {
	var b strings.Builder
	names := make([]string, 0, len(e.Missing))
	for _, a := range e.Missing {
		names = append(names, a.Name+" ("+a.Type+")")
	}
	fmt.Fprintf(&b, "namespace %q lacks the search attributes %s; create them with:", e.Namespace, strings.Join(names, ", "))
	for _, a := range e.Missing {
		fmt.Fprintf(&b, "\n  temporal operator search-attribute create --namespace %s --name %s --type %s", e.Namespace, a.Name, a.Type)
	}
	fmt.Fprintf(&b, "\nor on Temporal Cloud:")
	for _, a := range e.Missing {
		fmt.Fprintf(&b, "\n  tcld namespace search-attributes add --namespace %s --search-attribute %s=%s", e.Namespace, a.Name, a.Type)
	}
	if len(e.WrongType) > 0 {
		fmt.Fprintf(&b, "\n(registered with another type, remove them first: %s)", strings.Join(e.WrongType, ", "))
	}
	b.WriteString("\nsee docs/operations.md")
	return b.String()
}

// CheckSearchAttributes lists the namespace's search attributes and
// answers a *MissingSearchAttributesError when any of SearchAttributes is
// absent or of another type; an error of another kind when the list
// cannot be read (Temporal down, no permission).
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	res, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list the search attributes of namespace %q: %w", namespace, err)
	}
	missing := &MissingSearchAttributesError{Namespace: namespace}
	for _, a := range SearchAttributes() {
		got, ok := res.GetCustomAttributes()[a.Name]
		if !ok {
			missing.Missing = append(missing.Missing, a)
			continue
		}
		if want := indexedValueType(a.Type); got != want {
			missing.Missing = append(missing.Missing, a)
			missing.WrongType = append(missing.WrongType, fmt.Sprintf("%s is %s", a.Name, got))
		}
	}
	if len(missing.Missing) > 0 {
		return missing
	}
	return nil
}

// indexedValueType maps a CLI type name (Keyword, Int, KeywordList, …) to
// the API's enum.
func indexedValueType(name string) enumspb.IndexedValueType {
	switch name {
	case "KeywordList":
		return enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST
	}
	return enumspb.IndexedValueType(enumspb.IndexedValueType_value["INDEXED_VALUE_TYPE_"+strings.ToUpper(name)])
}
