//! The frame every page shares: readable on a phone, no JavaScript, no external files.

use maud::{html, Markup, DOCTYPE};

const STYLE: &str = "
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #eef3f8; color: #123; }
main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; color: #0b5394; }
form { background: #fff; border: 1px solid #c8d6e5; border-radius: 6px; padding: 1rem; margin: 1rem 0; }
label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; border: 1px solid #99a; border-radius: 4px; }
button { margin-top: .8rem; padding: .5rem 1.2rem; font-size: 1rem; border: 0; border-radius: 4px; background: #0b5394; color: #fff; }
button.danger { background: #a61c1c; }
form.inline { display: inline; border: 0; padding: 0; margin: 0; background: none; }
form.inline button { margin: 0 .2rem 0 0; padding: .2rem .6rem; font-size: .85rem; }
.error { background: #fde2e2; border: 1px solid #e0a0a0; padding: .6rem; border-radius: 4px; }
.done { background: #e2f5e2; border: 1px solid #9c9; padding: .6rem; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: .9rem; }
th, td { border: 1px solid #c8d6e5; padding: .3rem .4rem; text-align: left; vertical-align: top; }
.scroll { overflow-x: auto; }
dl.stats { display: grid; grid-template-columns: auto 1fr; gap: .2rem 1rem; }
dl.stats dt { font-weight: 600; }
";

/// A whole page: `title` as its heading, `notice` (an error or a success) above `body`.
pub fn page(title: &str, notice: Option<Notice>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - msnd" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (title) }
                    @match notice {
                        Some(Notice::Error(text)) => p.error role="alert" { (text) },
                        Some(Notice::Done(text)) => p.done role="status" { (text) },
                        None => {},
                    }
                    (body)
                }
            }
        }
    }
}

/// What a page reports about the form just submitted.
#[derive(Debug, Clone)]
pub enum Notice {
    Error(String),
    Done(String),
}
