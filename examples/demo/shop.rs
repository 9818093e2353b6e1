//! The shop: a cart kept **by id** in the configured storage (a directory on disk by default,
//! so it survives restarts), whose cookie is **scoped to `/shop`** (`.path("/shop")`): the
//! browser sends `cart_session` to the shop's pages only (see the cookie list in the footer).
//!
//! The cart remembers its owner: after a logout and a login as someone else in the same
//! browser, the new user starts with an empty cart.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Form;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use typed_sessions::auth::Authenticated;
use typed_sessions::flash::Flash;
use typed_sessions::{SessionError, Sessions, SessionsConfig, Sign};

use super::AppState;
use super::auth::{self, UserSession};
use super::forms::Notice;
use super::html::{PageContext, esc, euros};
use super::setup::Setup;
use super::users::Users;

/// Something to buy.
pub struct Product {
    /// Its number.
    pub id: u32,
    /// Its name.
    pub name: &'static str,
    /// Its price in cents.
    pub cents: u32,
}

/// The catalogue.
pub const PRODUCTS: &[Product] = &[
    Product {
        id: 1,
        name: "Ferris plush",
        cents: 2500,
    },
    Product {
        id: 2,
        name: "Kotlin mug",
        cents: 1200,
    },
    Product {
        id: 3,
        name: "Sticker pack",
        cents: 400,
    },
];

/// At most this many items in a cart.
pub const MAX_ITEMS: usize = 50;

/// The cart session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CartSession {
    /// Whose cart it is.
    pub owner: String,
    /// Product ids, one per item.
    pub items: Vec<u32>,
}

/// Registers `cart_session`: by id in the shared storage, the cookie sent to `/shop` only.
pub fn register(config: SessionsConfig, setup: &Setup) -> SessionsConfig {
    config.cookie_with_storage::<CartSession, _>("cart_session", setup.storage.clone(), |c| {
        c.path("/shop")
            .max_age(Duration::from_secs(30 * 24 * 3600))
            .secure(setup.secure)
            .transform(Sign::new(setup.key.clone()))
    })
}

/// `GET /shop`, `POST /shop/cart` (add), `POST /shop/cart/empty` (login required).
pub fn routes(users: &Arc<Users>) -> Router<AppState> {
    Router::new()
        .route("/shop", get(shop))
        .route("/shop/cart", post(add))
        .route("/shop/cart/empty", post(empty))
        .route_layer(auth::require_login(users))
}

/// Each product in `items` with its count, in catalogue order, and the total in cents.
pub fn summary(items: &[u32]) -> (Vec<(&'static Product, usize)>, u32) {
    let lines: Vec<_> = PRODUCTS
        .iter()
        .map(|p| (p, items.iter().filter(|&&i| i == p.id).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let total = lines
        .iter()
        .map(|(p, n)| {
            p.cents
                .saturating_mul(u32::try_from(*n).unwrap_or(u32::MAX))
        })
        .fold(0u32, u32::saturating_add);
    (lines, total)
}

/// The user's cart: the session's, if it is theirs, else an empty one.
async fn cart_of(sessions: &Sessions, user: &str) -> Result<CartSession, SessionError> {
    Ok(match sessions.get::<CartSession>().await? {
        Some(cart) if cart.owner == user => cart,
        _ => CartSession {
            owner: user.to_owned(),
            items: Vec::new(),
        },
    })
}

async fn shop(
    sessions: Sessions,
    page: PageContext,
    Authenticated(me): Authenticated<UserSession>,
) -> Result<Response, SessionError> {
    let cart = cart_of(&sessions, &me.user).await?;
    let products = PRODUCTS
        .iter()
        .map(|p| {
            format!(
                r#"<tr><td>{name}</td><td>{price}</td><td><form method="post" action="/shop/cart">{token}
<input type="hidden" name="product" value="{id}"><button class="add" data-product="{id}">Add to cart</button></form></td></tr>"#,
                name = esc(p.name),
                price = euros(p.cents),
                id = p.id,
                token = page.token_field(),
            )
        })
        .collect::<String>();
    let (lines, total) = summary(&cart.items);
    let cart_html = if lines.is_empty() {
        r#"<p id="cart-empty">Your cart is empty.</p>"#.to_owned()
    } else {
        let items = lines
            .iter()
            .map(|(p, n)| format!(r#"<li data-product="{}">{n} × {}</li>"#, p.id, esc(p.name)))
            .collect::<String>();
        format!(
            r#"<ul id="cart">{items}</ul><p>Total: <b id="total">{}</b></p>
<form method="post" action="/shop/cart/empty">{}<button id="empty">Empty the cart</button></form>"#,
            euros(total),
            page.token_field()
        )
    };
    let body = format!(
        r#"<table id="products">{products}</table>
<h2>Your cart</h2>
{cart_html}
<p>The cart lives on the server; the <code>cart_session</code> cookie holds only its signed id
and has <code>Path=/shop</code>, so the browser sends it to the shop's pages and nowhere else.
Stop the demo and start it again: the cart is still here.</p>"#
    );
    Ok(page.page("shop", "Shop", &body))
}

#[derive(Deserialize)]
struct AddForm {
    product: u32,
}

async fn add(
    sessions: Sessions,
    Authenticated(me): Authenticated<UserSession>,
    Form(form): Form<AddForm>,
) -> Result<Response, SessionError> {
    let notice = if !PRODUCTS.iter().any(|p| p.id == form.product) {
        Notice::NoSuchProduct
    } else {
        let mut cart = cart_of(&sessions, &me.user).await?;
        if cart.items.len() >= MAX_ITEMS {
            Notice::CartFull
        } else {
            cart.items.push(form.product);
            sessions.set(cart)?;
            Notice::Added {
                product: form.product,
            }
        }
    };
    sessions.set(Flash(notice))?;
    Ok(Redirect::to("/shop").into_response())
}

async fn empty(sessions: Sessions) -> Result<Response, SessionError> {
    sessions.clear::<CartSession>()?;
    sessions.set(Flash(Notice::Emptied))?;
    Ok(Redirect::to("/shop").into_response())
}
