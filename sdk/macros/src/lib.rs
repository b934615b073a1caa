//! `#[latchkey_sdk::policy]`: exports an `impl Policy for T` as the plugin's component
//! and derives the manifest's hook list from the hook methods the impl defines, so an
//! override can never be left out of the list (and then silently never called).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Error, ImplItem, ItemImpl, parse_macro_input, parse_quote};

/// The hooks of the world in its order: the method a plugin overrides and the `Hook`
/// variant the host calls it by.
const HOOKS: [(&str, &str); 7] = [
    ("on_registration", "Registration"),
    ("on_password", "Password"),
    ("on_developer_submission", "DeveloperSubmission"),
    ("on_device_binding", "DeviceBinding"),
    ("on_sign_in", "SignIn"),
    ("on_token_claims", "TokenClaims"),
    ("on_account_deletion", "AccountDeletion"),
];

/// Put on `impl Policy for YourPlugin { ... }`: fills in the hook list from the hook
/// methods written in the impl (in the world's order) and exports the plugin.
#[proc_macro_attribute]
pub fn policy(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let e = Error::new(Tokens::from(attr).span(), "#[policy] takes no arguments");
        return e.to_compile_error().into();
    }
    let mut imp = parse_macro_input!(item as ItemImpl);
    match expand(&mut imp) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The hook variants named by the methods `defined`, in the world's order.
fn derived_hooks(defined: &[String]) -> Vec<&'static str> {
    HOOKS.iter().filter(|(method, _)| defined.iter().any(|d| d == method)).map(|(_, variant)| *variant).collect()
}

fn expand(imp: &mut ItemImpl) -> syn::Result<Tokens> {
    let is_policy = imp.trait_.as_ref().and_then(|(path, _)| path.segments.last()).is_some_and(|s| s.ident == "Policy");
    if !is_policy {
        return Err(Error::new(imp.span(), "#[policy] goes on `impl Policy for YourPlugin { ... }`"));
    }
    if !imp.generics.params.is_empty() {
        return Err(Error::new(imp.generics.span(), "a plugin type has no generic parameters"));
    }
    let mut defined = Vec::new();
    for item in &imp.items {
        match item {
            ImplItem::Fn(f) => defined.push(f.sig.ident.to_string()),
            ImplItem::Const(c) if c.ident == "HOOKS" => {
                return Err(Error::new(c.span(), "HOOKS is derived from the hook methods this impl defines; remove it"));
            }
            ImplItem::Macro(m) => {
                return Err(Error::new(m.span(), "#[policy] cannot see hooks a macro defines; write the methods out"));
            }
            _ => {}
        }
    }
    let hooks = derived_hooks(&defined).into_iter().map(|v| format_ident!("{v}"));
    imp.items.push(parse_quote! {
        #[doc(hidden)]
        const HOOKS: &'static [::latchkey_sdk::Hook] = &[#(::latchkey_sdk::Hook::#hooks),*];
    });
    let ty = &imp.self_ty;
    Ok(quote! {
        #imp
        const _: () = {
            type __LatchkeyExport = ::latchkey_sdk::__private::Export<#ty>;
            ::latchkey_sdk::__private::export!(__LatchkeyExport with_types_in ::latchkey_sdk::__private);
        };
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w5_hooks_are_the_overridden_methods_in_world_order() {
        let defined: Vec<String> = ["on_token_claims", "helper", "on_registration"].map(String::from).to_vec();
        assert_eq!(derived_hooks(&defined), ["Registration", "TokenClaims"]);
        assert!(derived_hooks(&[]).is_empty());
    }

    #[test]
    fn w5_a_hand_written_hook_list_is_refused() {
        let mut imp: ItemImpl = parse_quote! {
            impl Policy for P { const NAME: &'static str = "p"; const HOOKS: &'static [Hook] = &[]; }
        };
        assert!(expand(&mut imp).unwrap_err().to_string().contains("HOOKS is derived"));
    }

    #[test]
    fn w5_every_hook_method_is_listed_once_and_the_impl_gets_the_list() {
        let mut imp: ItemImpl = parse_quote! {
            impl Policy for P {
                const NAME: &'static str = "p";
                fn on_account_deletion(_: Context, _: AccountDeletion) -> Decision { Decision::Allow }
                fn on_password(_: Context, _: PasswordCheck) -> Decision { Decision::Allow }
            }
        };
        let out = expand(&mut imp).unwrap().to_string().replace(' ', "");
        assert!(out.contains("constHOOKS:&'static[::latchkey_sdk::Hook]=&[::latchkey_sdk::Hook::Password,::latchkey_sdk::Hook::AccountDeletion]"), "{out}");
        assert!(out.contains("Export<P>"), "{out}");
        let all: Vec<String> = HOOKS.iter().map(|(m, _)| m.to_string()).collect();
        assert_eq!(derived_hooks(&all).len(), 7);
    }
}
