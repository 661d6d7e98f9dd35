-- Who furnishes a patient's PCM (the practitioner personally: 99424/99425, or clinical staff:
-- 99426/99427), and the conditions expected to last 3 to 12 months, which qualify for PCM but
-- never count toward CCM's two chronic conditions.
ALTER TABLE patients
	ADD COLUMN pcm_track text NOT NULL DEFAULT 'staff' CHECK (pcm_track IN ('staff', 'practitioner')),
	ADD COLUMN short_term_conditions text[] NOT NULL DEFAULT '{}'
		CHECK (array_position(short_term_conditions, NULL) IS NULL);
