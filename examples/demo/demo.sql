-- weir demo database: a small web shop.
--
-- The quickstart runs this script into a fresh SQLite file and ingests it.
-- SQLite has no COMMENT statement but keeps each CREATE statement's text,
-- so descriptions live in `--` comments: the comment after `(` on a
-- CREATE TABLE line describes the table, a trailing comment on a column's
-- line describes the column. The declared types are deliberately varied to
-- exercise type mapping.

PRAGMA foreign_keys = ON;

CREATE TABLE categories ( -- Product categories, arranged as a tree.
    id          INTEGER PRIMARY KEY,                -- Surrogate key.
    parent_id   INTEGER REFERENCES categories (id)
                    ON DELETE SET NULL,             -- Enclosing category; NULL for a top-level one.
    name        VARCHAR(80) NOT NULL,               -- Name shown in the shop.
    slug        TEXT NOT NULL UNIQUE,               -- URL fragment, e.g. 'garden-tools'.
    sort_order  SMALLINT NOT NULL DEFAULT 0,        -- Position among its siblings.
    CHECK (parent_id IS NULL OR parent_id <> id)
);

CREATE TABLE customers ( -- People who have an account with the shop.
    id          INTEGER PRIMARY KEY,                -- Surrogate key.
    email       VARCHAR(120) NOT NULL UNIQUE,       -- Login and contact address.
    full_name   TEXT NOT NULL,                      -- Name as the customer typed it.
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,      -- FALSE once the account is closed.
    birth_date  DATE,                               -- Optional; used for birthday vouchers.
    created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, -- When the account was opened (UTC).
    preferences JSON CHECK (preferences IS NULL OR json_valid(preferences)), -- Newsletter and UI settings.
    avatar      BLOB                                -- Profile picture (PNG).
);

CREATE TABLE addresses ( -- Postal addresses of a customer, numbered per customer.
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE, -- Owner of the address.
    address_no  INTEGER NOT NULL,                   -- 1, 2, ... within one customer.
    kind        TEXT NOT NULL DEFAULT 'shipping'
                    CHECK (kind IN ('shipping', 'billing')), -- What the address is used for.
    line1       VARCHAR(200) NOT NULL,              -- Street and number.
    city        VARCHAR(100) NOT NULL,              -- City or town.
    "state"     VARCHAR(100),                       -- Region, where the country has them.
    postal_code CHAR(10),                           -- Postal code as printed on labels.
    country     CHAR(2) NOT NULL DEFAULT 'NL',      -- ISO 3166-1 alpha-2 country code.
    PRIMARY KEY (customer_id, address_no)
);

CREATE TABLE products ( -- Everything the shop sells.
    id           INTEGER PRIMARY KEY,               -- Surrogate key.
    sku          VARCHAR(32) NOT NULL UNIQUE,       -- Stock-keeping unit printed on the shelf.
    name         VARCHAR(120) NOT NULL,             -- Product name.
    price        NUMERIC(10,2) NOT NULL CHECK (price >= 0), -- Current unit price in EUR.
    weight_kg    REAL,                              -- Shipping weight in kilograms.
    stock        INT NOT NULL DEFAULT 0,            -- Units on hand.
    is_available BOOLEAN NOT NULL DEFAULT 1,        -- Shown in the shop when true.
    attributes   JSON,                              -- Free-form attributes: colour, size, ...
    photo        BLOB,                              -- Main product photo.
    added_at     TIMESTAMP DEFAULT CURRENT_TIMESTAMP -- When the product was listed.
);

CREATE TABLE product_categories ( -- Which categories a product appears in (many-to-many).
    product_id  INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE, -- The product.
    category_id INTEGER NOT NULL REFERENCES categories ON DELETE CASCADE,     -- The category (refers to its primary key).
    PRIMARY KEY (product_id, category_id)
) WITHOUT ROWID;

CREATE TABLE orders ( -- Orders placed by customers.
    id                  INTEGER PRIMARY KEY,        -- Order number.
    customer_id         INTEGER NOT NULL REFERENCES customers (id), -- Who placed the order.
    shipping_address_no INTEGER NOT NULL,           -- Which of the customer's addresses to ship to.
    status              TEXT NOT NULL DEFAULT 'pending', -- pending, paid, shipped, delivered or cancelled.
    ordered_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, -- When the order was placed (UTC).
    note                TEXT,                       -- Message from the customer.
    CONSTRAINT orders_status_valid
        CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    FOREIGN KEY (customer_id, shipping_address_no)
        REFERENCES addresses (customer_id, address_no)
);

CREATE TABLE order_items ( -- Lines of an order.
    order_id     INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE, -- The order.
    line_no      INTEGER NOT NULL,                  -- Line number within the order.
    product_id   INTEGER NOT NULL REFERENCES products (id), -- What was ordered.
    quantity     INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0), -- Units ordered.
    unit_price   DECIMAL(10,2) NOT NULL,            -- Price per unit when the order was placed.
    discount_pct DOUBLE PRECISION NOT NULL DEFAULT 0.0, -- Discount in percent, 0-100.
    PRIMARY KEY (order_id, line_no),
    UNIQUE (order_id, product_id),
    CHECK (discount_pct BETWEEN 0 AND 100)
);

CREATE TABLE payments ( -- Money received for orders.
    id           INTEGER PRIMARY KEY,               -- Surrogate key.
    order_id     INTEGER NOT NULL REFERENCES orders (id), -- The order paid for.
    amount       NUMERIC(10,2) NOT NULL,            -- Amount received in EUR.
    method       VARCHAR(20) NOT NULL DEFAULT 'card', -- card, ideal, paypal or invoice.
    paid_at      TIMESTAMP NOT NULL,                -- When the payment cleared.
    external_ref TEXT UNIQUE,                       -- The payment provider's reference.
    receipt      BLOB,                              -- PDF receipt, if one was issued.
    CONSTRAINT payments_amount_positive CHECK (amount > 0)
);

CREATE VIEW order_totals AS -- One row per order: who ordered, when, and the total after discounts.
SELECT o.id AS order_id,
       c.email AS customer_email,
       o.status,
       o.ordered_at,
       COUNT(i.line_no) AS line_count,
       ROUND(SUM(i.quantity * i.unit_price * (100 - i.discount_pct) / 100), 2) AS total
FROM orders o
JOIN customers c ON c.id = o.customer_id
LEFT JOIN order_items i ON i.order_id = o.id
GROUP BY o.id, c.email, o.status, o.ordered_at;

CREATE VIEW available_products AS -- Products currently shown in the shop.
SELECT id, sku, name, price, stock
FROM products
WHERE is_available AND stock > 0;

INSERT INTO categories (id, parent_id, name, slug, sort_order) VALUES
    (1, NULL, 'Garden', 'garden', 1),
    (2, 1, 'Garden tools', 'garden-tools', 1),
    (3, 1, 'Seeds', 'seeds', 2),
    (4, NULL, 'Kitchen', 'kitchen', 2);

INSERT INTO customers (id, email, full_name, is_active, birth_date, created_at, preferences) VALUES
    (1, 'ada@example.com', 'Ada Lovelace', TRUE, '1815-12-10', '2024-01-05 09:12:00', '{"newsletter": true}'),
    (2, 'alan@example.com', 'Alan Turing', TRUE, NULL, '2024-02-11 17:40:00', '{"newsletter": false, "theme": "dark"}'),
    (3, 'grace@example.com', 'Grace Hopper', FALSE, '1906-12-09', '2024-03-20 08:00:00', NULL);

INSERT INTO addresses (customer_id, address_no, kind, line1, city, "state", postal_code, country) VALUES
    (1, 1, 'shipping', 'Keizersgracht 1', 'Amsterdam', NULL, '1015 CJ', 'NL'),
    (1, 2, 'billing', 'Damrak 70', 'Amsterdam', NULL, '1012 LM', 'NL'),
    (2, 1, 'shipping', 'Bletchley Park', 'Milton Keynes', 'Buckinghamshire', 'MK3 6EB', 'GB'),
    (3, 1, 'shipping', '1 Navy Way', 'Arlington', 'VA', '22202', 'US');

INSERT INTO products (id, sku, name, price, weight_kg, stock, is_available, attributes, photo) VALUES
    (1, 'GT-SPADE-01', 'Steel spade', 24.95, 1.8, 40, 1, '{"colour": "green"}', NULL),
    (2, 'GT-RAKE-02', 'Leaf rake', 14.50, 0.9, 0, 1, NULL, NULL),
    (3, 'SD-TOMATO-10', 'Tomato seeds (10 g)', 3.25, 0.01, 250, 1, '{"organic": true}', NULL),
    (4, 'KT-KNIFE-20', 'Chef''s knife', 59.00, 0.3, 12, 0, '{"blade_cm": 20}', X'89504E47');

INSERT INTO product_categories (product_id, category_id) VALUES
    (1, 1), (1, 2), (2, 2), (3, 1), (3, 3), (4, 4);

INSERT INTO orders (id, customer_id, shipping_address_no, status, ordered_at, note) VALUES
    (1001, 1, 1, 'delivered', '2024-04-02 10:15:00', NULL),
    (1002, 2, 1, 'paid', '2024-04-03 14:02:00', 'Please ring twice.'),
    (1003, 1, 2, 'pending', '2024-04-05 21:47:00', NULL);

INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price, discount_pct) VALUES
    (1001, 1, 1, 1, 24.95, 0),
    (1001, 2, 3, 3, 3.25, 10),
    (1002, 1, 4, 1, 59.00, 0),
    (1003, 1, 2, 2, 14.50, 5);

INSERT INTO payments (id, order_id, amount, method, paid_at, external_ref, receipt) VALUES
    (1, 1001, 33.73, 'ideal', '2024-04-02 10:16:30', 'PSP-7781', NULL),
    (2, 1002, 59.00, 'card', '2024-04-03 14:03:10', 'PSP-7790', X'255044462D');
