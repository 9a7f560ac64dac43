//! Flotiq's one transformation, `trim`, applied before any resize: either cut from each
//! side (`top`, `right`, `bottom`, `left`) or a box (`top`, `left`, `width`, `height`).
//! It comes from a named variant of the `_media` object, from `?transform={"trim":…}`,
//! or from the path `/transform/trim/{top},{right},{bottom},{left}`.

use serde_json::Value;

use crate::error::{AppError, AppResult};

/// A trim as asked, in pixels of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    Sides {
        top: u32,
        right: u32,
        bottom: u32,
        left: u32,
    },
    Box {
        top: u32,
        left: u32,
        width: Option<u32>,
        height: Option<u32>,
    },
}

/// The part of the original a trim keeps: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

fn bad(message: &str) -> AppError {
    AppError::BadRequest(format!("Invalid trim: {message}"))
}

fn pixels(value: &Value, name: &str) -> AppResult<Option<u32>> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(number) => number
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0 && *n <= f64::from(u32::MAX))
            .map(|n| Some(n.round() as u32))
            .ok_or_else(|| bad(&format!("{name} must be a number of pixels, 0 or more"))),
    }
}

impl Trim {
    /// From a variant's or a query's `trim` object; a box when it names a width or a
    /// height, sides otherwise.
    pub fn from_json(trim: &Value) -> AppResult<Trim> {
        if !trim.is_object() {
            return Err(bad("trim must be an object"));
        }
        let (width, height) = (pixels(trim, "width")?, pixels(trim, "height")?);
        let top = pixels(trim, "top")?.unwrap_or(0);
        let left = pixels(trim, "left")?.unwrap_or(0);
        if width.is_some() || height.is_some() {
            return Ok(Trim::Box {
                top,
                left,
                width,
                height,
            });
        }
        Ok(Trim::Sides {
            top,
            right: pixels(trim, "right")?.unwrap_or(0),
            bottom: pixels(trim, "bottom")?.unwrap_or(0),
            left,
        })
    }

    /// From the query's `transform` parameter: `{"trim":{…}}`.
    pub fn from_transform_query(text: &str) -> AppResult<Trim> {
        let transform: Value = serde_json::from_str(text)
            .map_err(|_| AppError::BadRequest("transform must be JSON".into()))?;
        let trim = transform
            .get("trim")
            .ok_or_else(|| AppError::BadRequest("transform knows only trim".into()))?;
        Trim::from_json(trim)
    }

    /// From the path: `{top},{right},{bottom},{left}`.
    pub fn from_path(values: &str) -> AppResult<Trim> {
        let numbers: Vec<u32> = values
            .split(',')
            .map(|part| part.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("the path takes four whole numbers: top,right,bottom,left"))?;
        let [top, right, bottom, left] = numbers[..] else {
            return Err(bad(
                "the path takes four whole numbers: top,right,bottom,left",
            ));
        };
        Ok(Trim::Sides {
            top,
            right,
            bottom,
            left,
        })
    }

    /// What this trim keeps of an image of `width` x `height`, clamped to it; refused
    /// when nothing is left.
    pub fn area(self, width: u32, height: u32) -> AppResult<Area> {
        let (x, y, w, h) = match self {
            Trim::Sides {
                top,
                right,
                bottom,
                left,
            } => (
                left.min(width),
                top.min(height),
                width.saturating_sub(left).saturating_sub(right),
                height.saturating_sub(top).saturating_sub(bottom),
            ),
            Trim::Box {
                top,
                left,
                width: w,
                height: h,
            } => {
                let (x, y) = (left.min(width), top.min(height));
                (
                    x,
                    y,
                    w.unwrap_or(u32::MAX).min(width - x),
                    h.unwrap_or(u32::MAX).min(height - y),
                )
            }
        };
        if w == 0 || h == 0 {
            return Err(bad("nothing of the image is left"));
        }
        Ok(Area {
            x,
            y,
            width: w,
            height: h,
        })
    }
}

impl Area {
    /// Part of a copy's file name: the same area is one file whoever asked for it.
    pub fn name(&self) -> String {
        format!("{}_{}_{}_{}", self.x, self.y, self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sides_and_boxes_keep_what_they_say() {
        let sides = Trim::from_json(&json!({"top": 10, "right": 20, "bottom": 30, "left": 40}));
        assert_eq!(
            sides.unwrap().area(400, 200).unwrap(),
            Area {
                x: 40,
                y: 10,
                width: 340,
                height: 160
            }
        );
        let boxed = Trim::from_json(&json!({"top": 10, "left": 20, "width": 100, "height": 50}));
        assert_eq!(
            boxed.unwrap().area(400, 200).unwrap(),
            Area {
                x: 20,
                y: 10,
                width: 100,
                height: 50
            }
        );
        // A box past the edge is clamped to it.
        let wide = Trim::from_json(&json!({"left": 350, "width": 100})).unwrap();
        assert_eq!(wide.area(400, 200).unwrap().width, 50);
        assert_eq!(
            Trim::from_path("1,2,3,4").unwrap(),
            Trim::Sides {
                top: 1,
                right: 2,
                bottom: 3,
                left: 4
            }
        );
    }

    #[test]
    fn nothing_left_and_nonsense_are_refused() {
        let all = Trim::from_json(&json!({"left": 200, "right": 200})).unwrap();
        assert!(all.area(400, 200).is_err());
        assert!(Trim::from_json(&json!({"top": -1})).is_err());
        assert!(Trim::from_json(&json!({"top": "x"})).is_err());
        assert!(Trim::from_json(&json!([1])).is_err());
        assert!(Trim::from_path("1,2,3").is_err());
        assert!(Trim::from_path("1,2,3,-4").is_err());
        assert!(Trim::from_transform_query("{\"blur\":1}").is_err());
    }
}
