//! What the xtask adds to typify's output before printing it, on the parsed
//! `syn::File`:
//!
//! - `#[non_exhaustive]` on every generated enum, so a value added to a
//!   schema's `enum` or `oneOf` is not a breaking change for users;
//! - on every internally tagged enum of struct variants (`Event`), an
//!   accessor for its tag's wire name (`event_type()`) and one for each
//!   field that every variant has (`id()`, `timestamp()`, `initiator()`),
//!   so a new event type needs no hand-written code;
//! - for such an enum, a trait (`EventContent`) implemented by the one
//!   type each variant carries beside the common fields (`content:
//!   ConversationClosed`), so a handler can ask for the content of one
//!   event type by its Rust type. When the naming table names a shared,
//!   hand-written trait (`crate::EventContent`), the module implements that
//!   one instead of declaring its own, so several schemas' events (our
//!   user's model and Gladly's REST API 1.0) share it.

use anyhow::Result;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::{Attribute, Fields, Item, ItemEnum, LitStr, Type};

/// Applies every addition to `file`; `content_trait` is the path of a
/// shared content trait, if the module implements one (see the module docs).
pub fn finish(file: &mut syn::File, content_trait: Option<&str>) -> Result<()> {
    let mut impls = Vec::new();
    for item in &mut file.items {
        if let Item::Enum(item) = item {
            item.attrs.push(syn::parse_quote!(#[non_exhaustive]));
            if let Some(tag) = serde_value(&item.attrs, "tag")? {
                if let Some(tokens) = tagged_accessors(item, &tag, content_trait)? {
                    impls.extend(syn::parse2::<syn::File>(tokens)?.items);
                }
            }
        }
    }
    file.items.extend(impls);
    Ok(())
}

/// The string value of `#[serde(<key> = "...")]` among `attrs`, if any.
fn serde_value(attrs: &[Attribute], key: &str) -> Result<Option<String>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.input.peek(syn::Token![=]) {
                let value: syn::Expr = meta.value()?.parse()?;
                if meta.path.is_ident(key) {
                    if let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }) = value
                    {
                        found = Some(text.value());
                    }
                }
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|_| Ok(()))?;
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// One field as a variant declares it.
struct Field<'a> {
    variant: &'a Ident,
    optional: bool,
    inner: &'a Type,
    docs: Vec<&'a Attribute>,
}

/// `impl Enum { fn <enum>_<tag>(); fn <common field>()... }`, or `None` for
/// an enum with a variant that is not a struct variant.
fn tagged_accessors(
    item: &ItemEnum,
    tag: &str,
    content_trait: Option<&str>,
) -> Result<Option<TokenStream>> {
    let name = &item.ident;
    let mut wire_names = Vec::new();
    for variant in &item.variants {
        if !matches!(variant.fields, Fields::Named(_)) {
            return Ok(None);
        }
        let wire =
            serde_value(&variant.attrs, "rename")?.unwrap_or_else(|| variant.ident.to_string());
        wire_names.push((&variant.ident, wire));
    }
    let tag_method = format_ident!("{}_{}", snake_case(&name.to_string()), tag);
    let tag_arms = wire_names.iter().map(|(variant, wire)| {
        let wire = LitStr::new(wire, proc_macro2::Span::call_site());
        quote! { Self::#variant { .. } => #wire, }
    });
    let tag_doc = format!(" The `{tag}` of the variant, as it is on the wire.");

    let common = common_fields(item);
    let content = match content_trait {
        Some(path) => Some(syn::parse_str::<syn::Path>(path)?),
        None => None,
    };
    let content = content_impls(item, &common, &wire_names, content.as_ref());
    let accessors = common.iter().map(|(field, fields)| accessor(field, fields));
    Ok(Some(quote! {
        impl #name {
            #[doc = #tag_doc]
            pub fn #tag_method(&self) -> &'static str {
                match self {
                    #(#tag_arms)*
                }
            }
            #(#accessors)*
        }
        #content
    }))
}

/// The content trait's impl for each variant's own type (the one field a
/// variant has beside the common ones, when its type is a plain name that
/// no other variant carries), and the trait itself, `<Enum>Content`, unless
/// `shared` names a trait declared elsewhere (which then has an associated
/// `type Parent`).
fn content_impls(
    item: &ItemEnum,
    common: &[(Ident, Vec<Field<'_>>)],
    wire_names: &[(&Ident, String)],
    shared: Option<&syn::Path>,
) -> TokenStream {
    let name = &item.ident;
    let mut impls: Vec<(&Ident, &Ident, &Type, &str)> = Vec::new();
    for (variant, (_, wire)) in item.variants.iter().zip(wire_names) {
        let Fields::Named(fields) = &variant.fields else {
            continue;
        };
        let own: Vec<&syn::Field> = fields
            .named
            .iter()
            .filter(|f| !common.iter().any(|(c, _)| Some(c) == f.ident.as_ref()))
            .collect();
        if let [field] = own.as_slice() {
            if let (Some(ident), Type::Path(_)) = (&field.ident, &field.ty) {
                if option_inner(&field.ty).is_none() {
                    impls.push((&variant.ident, ident, &field.ty, wire));
                }
            }
        }
    }
    // A type carried by two variants cannot say which it is.
    let unique: Vec<_> = impls
        .iter()
        .filter(|(_, _, ty, _)| {
            impls
                .iter()
                .filter(|(_, _, t, _)| tokens(t) == tokens(ty))
                .count()
                == 1
        })
        .collect();
    if unique.is_empty() {
        return TokenStream::new();
    }
    let local_trait = format_ident!("{}Content", name);
    let trait_name = match shared {
        Some(path) => quote!(#path),
        None => quote!(#local_trait),
    };
    let parent_type = shared.map(|_| quote!(type Parent = #name;));
    let trait_doc = format!(
        " The type one variant of [`{name}`] carries beside the fields every variant has: \
         implemented for each, so code can ask for the content of one variant by its type."
    );
    let impls = unique.iter().map(|(variant, field, ty, wire)| {
        quote! {
            // Giving the event back whole is the point: no boxing.
            #[allow(clippy::result_large_err)]
            impl #trait_name for #ty {
                #parent_type
                const TAG: &'static str = #wire;
                fn from_parent(parent: #name) -> ::std::result::Result<Self, #name> {
                    match parent {
                        #name::#variant { #field, .. } => ::std::result::Result::Ok(#field),
                        other => ::std::result::Result::Err(other),
                    }
                }
            }
        }
    });
    if shared.is_some() {
        return quote! { #(#impls)* };
    }
    quote! {
        #[doc = #trait_doc]
        #[allow(clippy::result_large_err)]
        pub trait #local_trait: ::std::marker::Sized {
            /// The variant's tag on the wire.
            const TAG: &'static str;
            /// This variant's content, or the value back when it is another variant.
            fn from_parent(parent: #name) -> ::std::result::Result<Self, #name>;
        }
        #(#impls)*
    }
}

/// The fields every variant has, with the same type (optional or not), in
/// the first variant's order.
fn common_fields(item: &ItemEnum) -> Vec<(Ident, Vec<Field<'_>>)> {
    fn named(variant: &syn::Variant) -> Vec<(Ident, Field<'_>)> {
        let Fields::Named(fields) = &variant.fields else {
            return Vec::new();
        };
        fields
            .named
            .iter()
            .filter_map(|f| {
                let ident = f.ident.clone()?;
                let (optional, inner) = match option_inner(&f.ty) {
                    Some(inner) => (true, inner),
                    None => (false, &f.ty),
                };
                let docs = f
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("doc"))
                    .collect();
                Some((
                    ident,
                    Field {
                        variant: &variant.ident,
                        optional,
                        inner,
                        docs,
                    },
                ))
            })
            .collect()
    }
    let mut variants = item.variants.iter().map(named);
    let Some(first) = variants.next() else {
        return Vec::new();
    };
    let mut common: Vec<(Ident, Vec<Field<'_>>)> = first
        .into_iter()
        .map(|(ident, field)| (ident, vec![field]))
        .collect();
    for fields in variants {
        let mut fields: Vec<(Ident, Field<'_>)> = fields;
        common.retain_mut(|(ident, seen)| {
            let Some(i) = fields.iter().position(|(name, _)| name == ident) else {
                return false;
            };
            let (_, field) = fields.swap_remove(i);
            let same_type = tokens(field.inner) == tokens(seen[0].inner);
            seen.push(field);
            same_type
        });
    }
    common
}

fn tokens(ty: &Type) -> String {
    quote!(#ty).to_string()
}

/// `T` when `ty` is `Option<T>` (however the path is spelled).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// The accessor for a field every variant has: `&T` when every variant
/// requires it, `Option<&T>` when one does not (a `String` is lent as
/// `&str`).
fn accessor(name: &Ident, fields: &[Field<'_>]) -> TokenStream {
    let is_string = tokens(fields[0].inner).replace(' ', "").ends_with("String");
    let inner = fields[0].inner;
    let any_optional = fields.iter().any(|f| f.optional);
    let lent = if is_string {
        quote!(&str)
    } else {
        quote!(&#inner)
    };
    let output = if any_optional {
        quote!(::std::option::Option<#lent>)
    } else {
        lent
    };
    let arms = fields.iter().map(|field| {
        let variant = field.variant;
        let value = match (any_optional, field.optional, is_string) {
            (true, true, true) => quote!(#name.as_deref()),
            (true, true, false) => quote!(#name.as_ref()),
            (true, false, true) => quote!(::std::option::Option::Some(#name.as_str())),
            (true, false, false) => quote!(::std::option::Option::Some(#name)),
            (false, _, true) => quote!(#name.as_str()),
            (false, _, false) => quote!(#name),
        };
        quote! { Self::#variant { #name, .. } => #value, }
    });
    let docs: Vec<&Attribute> = fields
        .iter()
        .find(|f| !f.docs.is_empty())
        .map(|f| f.docs.clone())
        .unwrap_or_default();
    let fallback = format!(" The `{name}` field, which every variant has.");
    let docs = if docs.is_empty() {
        quote!(#[doc = #fallback])
    } else {
        quote!(#(#docs)*)
    };
    quote! {
        #docs
        pub fn #name(&self) -> #output {
            match self {
                #(#arms)*
            }
        }
    }
}

/// `AgentState` as `agent_state`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}
