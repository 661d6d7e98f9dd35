package monitoring

// SelectDataDays is the statement DataDaysByPatient runs, for its plan.
const SelectDataDays = selectDataDays
