-- Languages of what a customer reads (docs/billing.md, "Languages"): the
-- setting language (en, zh-CN) and customer.language, which overrides it.
-- The bill's lines are computed and frozen in one canonical wording
-- (English: invoice_line, the text a sign-off hashes), so that a customer
-- changing language never changes a signed or issued bill; bill_detail and
-- bill_html word each line in the reader's language when they show it.  The
-- amounts are the same numbers in every language: only words change.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('language', 'en', 'Language of what customers read (bills) and of the centers'' reports, unless customer.language or service_center.language says otherwise: en or zh-CN', false, 'choice', NULL,
	 ARRAY['en', 'zh-CN']);

-- The language a customer reads: customer.language, else the setting.
CREATE FUNCTION repairsys.customer_language(customer_id bigint)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT c.language FROM repairsys.customer c WHERE c.id = customer_language.customer_id),
	                (SELECT s.value FROM repairsys.setting s WHERE s.name = 'language'), 'en');
END;
COMMENT ON FUNCTION repairsys.customer_language(bigint) IS 'The language a customer reads: customer.language, else the setting language, else en';

-- A bill line's description (the canonical English wording of compute_bill
-- and schedule_lines) in a language.  Each wording compute_bill produces has
-- its pattern here, tried in order; a text no pattern knows (a line of an
-- older invoice) is shown as it is.  Numbers, names and SKUs are kept.
CREATE FUNCTION repairsys.bill_line_text(language text, description text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	IF language IS DISTINCT FROM 'zh-CN' OR description IS NULL THEN
		RETURN description;
	END IF;
	FOR r IN SELECT v.p, v.s FROM (VALUES
			(1, '^Call-out fee$', '上门费'),
			(2, '^Labor: base fee$', '人工费：基本费'),
			(3, '^Travel: base fee$', '路程费：基本费'),
			(4, '^Labor: ([^ ]+) ([^ ]+) in the tier ([^ ]+) [^ ]+, at ([^ ]+) per [^ ]+$', '人工费：\3 \2 档 \1 \2，单价 \4/\2'),
			(5, '^Travel: ([^ ]+) ([^ ]+) in the tier ([^ ]+) [^ ]+, at ([^ ]+) per [^ ]+$', '路程费：\3 \2 档 \1 \2，单价 \4/\2'),
			(6, '^Labor: raised to the minimum charge of the schedule$', '人工费：按最低收费补足'),
			(7, '^Travel: raised to the minimum charge of the schedule$', '路程费：按最低收费补足'),
			(8, '^Labor: lowered to the maximum charge of the schedule$', '人工费：按最高收费封顶'),
			(9, '^Travel: lowered to the maximum charge of the schedule$', '路程费：按最高收费封顶'),
			(10, '^Complexity level ([^ ]+): labor x ([^ ]+)$', '复杂度 \1 级：人工费 x \2'),
			(11, '^Urgency "(.*)": ([^ ]+)% of labor$', '加急费（\1）：人工费的 \2%'),
			(12, '^Product warranty covers part (.*) \(([^()]*)\)$', '保修减免：配件 \1（\2）'),
			(13, '^Product warranty \(until ([^)]*)\) covers labor, complexity and urgency surcharge$', '保修减免（保修至 \1）：人工费、复杂度费与加急费'),
			(14, '^Product warranty covers the call-out fee$', '保修减免：上门费'),
			(15, '^Product warranty covers travel$', '保修减免：路程费'),
			(16, '^Part (.*) \(([^()]*)\)$', '配件 \1（\2）'),
			(17, '^Repeat repair within (.*) of ticket ([0-9]+): labor is free$', '返修（工单 \2 后 \1 内）：免人工费'),
			(18, '^Discount: (.*) \(on parts\)$', '折扣：\1（配件部分）'),
			(19, '^Discount: (.*)$', '折扣：\1')) AS v(o, p, s)
	               ORDER BY v.o
	LOOP
		IF description ~ r.p THEN
			RETURN regexp_replace(description, r.p, r.s);
		END IF;
	END LOOP;
	RETURN description;
END
$$;
COMMENT ON FUNCTION repairsys.bill_line_text(text, text) IS 'A bill line''s description in a language (en: as computed; zh-CN: translated, numbers, names and SKUs kept; an unknown wording unchanged)';

-- The texts of bill_html in its two languages.
CREATE FUNCTION repairsys.bill_label(language text, key text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN language = 'zh-CN' THEN v.zh ELSE v.en END
	  FROM (VALUES
		('title', 'Bill for ticket %s', '工单 %s 的维修账单'),
		('customer', 'Customer', '客户'),
		('service', 'Service', '服务'),
		('status', 'Status', '状态'),
		('invoice', 'Invoice', '发票'),
		('not_invoiced', 'Not invoiced yet.', '尚未开票。'),
		('no_estimate', 'No estimate was approved (warranty work needs none).', '未审批预估费用（保修服务无需预估）。'),
		('revised', 'Revised estimate %s approved on %s (%s): between <b>%s</b> and <b>%s</b> %s, tax included.', '第 %s 版修订预估于 %s 审批（%s）：<b>%s</b> 至 <b>%s</b> %s，含税。'),
		('estimate', 'Estimate approved on %s: between <b>%s</b> and <b>%s</b> %s, tax included.', '预估费用于 %s 审批：<b>%s</b> 至 <b>%s</b> %s，含税。'),
		('lines', 'Lines', '费用明细'),
		('what', 'What', '项目'),
		('quantity', 'Quantity', '数量'),
		('unit', 'Unit', '单位'),
		('unit_price', 'Unit price', '单价'),
		('amount', 'Amount', '金额'),
		('tax_rate', 'Tax rate', '税率'),
		('tax', 'Tax', '税额'),
		('no_charge', 'No charge so far.', '暂无费用。'),
		('labor', 'Labor', '人工费'),
		('parts', 'Parts', '配件'),
		('travel', 'Travel', '路程费'),
		('surcharges', 'Call-out and surcharges', '上门费与加急费'),
		('coverage', 'Warranty and repeat-repair coverage', '保修减免与返修减免'),
		('discounts', 'Discounts', '折扣'),
		('subtotal', 'Subtotal', '小计'),
		('total', 'Total', '合计'),
		('payments', 'Payments', '付款记录'),
		('when', 'When', '时间'),
		('method', 'Method', '方式'),
		('none_yet', 'None yet.', '暂无。'),
		('balance', 'Balance due', '待付余额')
	  ) AS v(k, en, zh)
	 WHERE v.k = key;
END;
COMMENT ON FUNCTION repairsys.bill_label(text, text) IS 'A text of bill_html in the language (en, zh-CN)';
