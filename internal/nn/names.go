package nn

import "fmt"

// ActName builds an activation name after TransformerLens's hook points
// (the package documentation lists the three that differ):
// ActName("pattern", 1) = "blocks.1.attn.pattern" (TransformerLens's
// blocks.1.attn.hook_pattern), ActName("resid_pre", 0) =
// "blocks.0.hook_resid_pre" (the same),
// and layer < 0 gives the model-level names ("embed", "pos_embed",
// "ln_final.normalized", "logits"). Unknown kinds panic (programming error).
func ActName(kind string, layer int) string {
	if layer < 0 {
		switch kind {
		case "embed", "pos_embed", "logits":
			return "hook_" + kind
		case "ln_final":
			return "ln_final.hook_normalized"
		}
		panic("nn.ActName: unknown model-level activation " + kind)
	}
	switch kind {
	case "resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out":
		return fmt.Sprintf("blocks.%d.hook_%s", layer, kind)
	case "q", "k", "v", "z", "attn_scores", "rot_q", "rot_k":
		return fmt.Sprintf("blocks.%d.attn.hook_%s", layer, kind)
	case "pattern":
		return fmt.Sprintf("blocks.%d.attn.pattern", layer)
	case "mlp_pre", "mlp_post":
		return fmt.Sprintf("blocks.%d.mlp.%s", layer, kind[4:])
	case "hidden": // LSTM layer output h_t
		return fmt.Sprintf("blocks.%d.hook_hidden", layer)
	}
	panic("nn.ActName: unknown activation " + kind)
}
